"""The twin's run: association, load-coupled SINR fixed point, results and KPIs.

For one hour with offered traffic ``D_b`` (bit/s) in bin ``b`` served by cell ``s(b)``:

    SINR_b(rho) = P_s g_bs / (sum_{j != s, same carrier} min(rho_j, 1) P_j g_bj + N_s)
    se_b        = L_s * min(alpha log2(1 + SINR_b / L_s), se_max)  (truncated Shannon, L_s layers)
    rho_c       = sum_{b: s(b)=c} D_b / (se_b * B_prb,c) / n_prb,c     (PRB utilisation)

``rho = f(rho)`` is the load-coupling fixed point of Siomina & Yuan (IEEE TWC 2012); ``f`` is
a standard interference function, so the iteration from ``rho = 0`` increases monotonically to
the least fixed point when one exists. The iteration stops at ``tolerance`` or
``max_iterations`` and reports the flag and the residual: non-convergence is never hidden.
Inside the fixed point a bin below ``sinr_min_db`` is charged at the lowest MCS (the scheduler
still serves it, expensively), which keeps ``f`` monotone; the coverage KPI reports such bins.
A cell with ``rho > 1`` serves ``1/rho`` of its offered traffic; the rest is reported as
unserved, never clipped away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.config import RadioConfig
from twin.demand import Demand, check_hour
from twin.errors import ValidationError
from twin.kpis import compute_kpis
from twin.links import LinkCache
from twin.network import Network
from twin.spectral import load_spectral_efficiency, spectral_efficiency
from twin.state import State


@dataclass(frozen=True)
class _Assembly:
    """Links of all cells in one flat, bin-sorted layout, and the association."""

    link_cell: NDArray[np.int32]    # [n_link] cell index, links grouped by bin
    link_bin: NDArray[np.int64]     # [n_link]
    rx_dbm: NDArray[np.float64]     # [n_link] received power over the channel
    serving: NDArray[np.int64]      # [n_bin] serving cell, -1 = none
    rsrp_dbm: NDArray[np.float64]   # [n_bin] RSRP of the server (-inf if none)
    signal_mw: NDArray[np.float64]  # [n_bin] received power of the server
    interf: sp.csr_matrix           # [n_bin, n_cell] co-channel power of non-serving cells, mW
    noise_mw: NDArray[np.float64]   # [n_bin] noise over the server's channel


class Twin:
    """A network, its demand and the model parameters, with cached link gains.

    ``Twin(network, demand).run(hour)`` gives a :class:`~twin.state.State`;
    :meth:`what_if` returns a twin of a changed network that reuses every cell's link gains
    whose geometry did not change.
    """

    def __init__(self, network: Network, demand: Demand, config: RadioConfig | None = None,
                 cache: LinkCache | None = None) -> None:
        self.network = network
        self.demand = demand
        self.config = config or RadioConfig()
        if cache is not None and (cache.grid != demand.grid or cache.config != self.config):
            cache = None
        # Not `cache or ...`: an empty LinkCache has len 0 and is falsy, yet must be shared.
        self.cache = cache if cache is not None else LinkCache(demand.grid, self.config)
        self._asm: _Assembly | None = None
        cells = network.cells
        self._n_prb = cells["n_prb"].to_numpy(dtype=float)
        self._prb_bw_hz = 12.0 * cells["scs_khz"].to_numpy(dtype=float) * 1e3
        self._layers = cells["mimo_layers"].to_numpy(dtype=float)
        self._bw_hz = cells["bandwidth_mhz"].to_numpy(dtype=float) * 1e6
        if np.any(self._n_prb * self._prb_bw_hz > self._bw_hz * 1.0001):
            i = int(np.argmax(self._n_prb * self._prb_bw_hz > self._bw_hz * 1.0001))
            raise ValidationError("cells", "n_prb x 12 x scs_khz exceeds bandwidth_mhz; check the "
                                  "PRB table (TS 36.101 / 38.101)", cells["cell_id"].iloc[i],
                                  "n_prb")

    # ------------------------------------------------------------------------------------
    def what_if(self, network: Network) -> Twin:
        """A twin of ``network`` (a changed copy of this one) sharing this twin's link cache."""
        return Twin(network, self.demand, self.config, cache=self.cache)

    @property
    def assembly(self) -> _Assembly:
        if self._asm is None:
            self._asm = self._assemble()
        return self._asm

    def _assemble(self) -> _Assembly:
        cfg = self.config
        n_bin = self.demand.grid.n_bin
        rows = self.network.cells_with_sites()
        n_cell = len(rows)
        blocks = [self.cache.get(rows.iloc[i]) for i in range(n_cell)]
        counts = np.array([b.bins.size for b in blocks], dtype=np.int64)
        cell_of_link = np.repeat(np.arange(n_cell, dtype=np.int32), counts)  # [n_link]
        bins = np.concatenate([b.bins for b in blocks]) if n_cell else np.empty(0, np.int64)
        gain = np.concatenate([b.gain_db for b in blocks]) if n_cell else np.empty(0, np.float32)
        # Group links by bin with an O(n_link) CSR conversion (no sort of all links).
        perm = sp.csr_matrix((np.arange(1, bins.size + 1, dtype=np.float64),
                              (bins, cell_of_link)), shape=(n_bin, n_cell))
        order = perm.data.astype(np.int64) - 1
        indptr = perm.indptr
        link_cell = cell_of_link[order]
        link_bin = bins[order]
        tx = self.network.cells["tx_power_dbm"].to_numpy(dtype=float)
        cio = self.network.cells["cio_db"].to_numpy(dtype=float)
        rx_dbm = tx[link_cell] + gain[order].astype(np.float64)  # [n_link]
        rsrp = rx_dbm - 10.0 * np.log10(12.0 * self._n_prb[link_cell])
        score = rsrp + cio[link_cell]
        # Best server per bin: max of (RSRP + CIO) over each bin's links.
        nonempty = np.flatnonzero(np.diff(indptr) > 0)
        starts = indptr[nonempty]
        best = np.full(n_bin, -np.inf)
        best[nonempty] = np.maximum.reduceat(score, starts)
        is_best = score >= best[link_bin]
        pos = np.where(is_best, np.arange(score.size), score.size)
        first = np.full(n_bin, -1, dtype=np.int64)
        first[nonempty] = np.minimum.reduceat(pos, starts)
        self._break_ties(first, is_best, link_bin, link_cell, rows)
        serving = np.full(n_bin, -1, dtype=np.int64)
        serving[nonempty] = link_cell[first[nonempty]]
        rsrp_bin = np.full(n_bin, -np.inf)
        rsrp_bin[nonempty] = rsrp[first[nonempty]]
        signal = np.zeros(n_bin)
        signal[nonempty] = 10.0 ** (rx_dbm[first[nonempty]] / 10.0)
        # Interference: links of other cells on the server's carrier.
        fc = self.network.cells["fc_ghz"].to_numpy(dtype=float)
        srv_of_link = serving[link_bin]
        co = (link_cell != srv_of_link) & (srv_of_link >= 0)
        co &= np.isclose(fc[link_cell], fc[np.maximum(srv_of_link, 0)])
        interf = sp.csr_matrix((10.0 ** (rx_dbm[co] / 10.0), (link_bin[co], link_cell[co])),
                               shape=(n_bin, n_cell))
        noise_dbm = (cfg.thermal_noise_dbm_hz + cfg.noise_figure_db
                     + 10.0 * np.log10(self._bw_hz[np.maximum(serving, 0)]))
        noise = 10.0 ** (noise_dbm / 10.0)
        return _Assembly(link_cell, link_bin, rx_dbm, serving, rsrp_bin, signal, interf, noise)

    def _break_ties(self, first: NDArray[np.int64], is_best: NDArray[np.bool_],
                    link_bin: NDArray[np.int64], link_cell: NDArray[np.int32],
                    rows: pd.DataFrame) -> None:
        """Exact ties of RSRP + CIO happen where the 3GPP pattern is at its 30 dB floor for
        several sectors of one site (under the mast). Give such bins to the sector whose
        boresight is closest to the bin's bearing instead of to the lowest cell index."""
        n_best = np.bincount(link_bin[is_best], minlength=first.size)
        tied = np.flatnonzero(is_best & (n_best[link_bin] > 1))  # links, grouped by bin
        if tied.size == 0:
            return
        grid = self.demand.grid
        cb = link_bin[tied]
        cc = link_cell[tied]
        dx = grid.x0_m + (cb % grid.nx) * grid.spacing_m - rows["x_m"].to_numpy()[cc]
        dy = grid.y0_m + (cb // grid.nx) * grid.spacing_m - rows["y_m"].to_numpy()[cc]
        bearing = np.degrees(np.arctan2(dx, dy))
        off = np.abs((bearing - rows["azimuth_deg"].to_numpy()[cc] + 180.0) % 360.0 - 180.0)
        off = np.where(rows["antenna"].to_numpy()[cc] == "omni", 0.0, off)
        order = np.lexsort((off, cb))  # by bin, then by offset
        keep = np.ones(order.size, dtype=bool)
        keep[1:] = cb[order][1:] != cb[order][:-1]
        first[cb[order][keep]] = tied[order][keep]

    # ------------------------------------------------------------------------------------
    def run(self, hour: int | None = None, warm_start: NDArray[np.float64] | None = None
            ) -> State:
        """Simulate one hour (default: the busy hour) and return its State.

        Args:
            hour: 0..23; None for the demand's busy hour.
            warm_start: ``[n_cell]`` utilisation to start the fixed point from (e.g. the state
                before a small change); it converges to the same point, usually faster.
        """
        hour = self.demand.busy_hour if hour is None else check_hour(hour)
        return self.solve(self.demand.at(hour), hour, warm_start)

    def solve(self, offered: NDArray[np.float64], hour: int = -1,
              warm_start: NDArray[np.float64] | None = None) -> State:
        """Run the twin on an explicit offered-traffic map ``[n_bin]`` (Mbit/s); ``hour`` is
        only a label. Used by calibration, which rescales the map between runs."""
        load = self.load_operator(offered)
        cfg = self.config
        n_cell = len(self.network.cells)
        rho = np.zeros(n_cell) if warm_start is None else np.asarray(warm_start, float).copy()
        if rho.shape != (n_cell,) or not np.isfinite(rho).all():
            rho = np.zeros(n_cell)
        residual = np.inf
        iterations = 0
        converged = False
        for iterations in range(1, cfg.max_iterations + 1):  # noqa: B007
            new = load(rho)
            residual = float(np.max(np.abs(new - rho))) if n_cell else 0.0
            rho = new
            if residual < cfg.tolerance:
                converged = True
                break
        return self._state(hour, np.asarray(offered, dtype=float), rho, converged, residual, iterations)

    def _state(self, hour: int, offered: NDArray[np.float64], rho: NDArray[np.float64],
               converged: bool, residual: float, iterations: int) -> State:
        cfg = self.config
        asm = self.assembly
        cells = self.network.cells
        n_bin = self.demand.grid.n_bin
        n_cell = len(cells)
        has = asm.serving >= 0
        srv = np.maximum(asm.serving, 0)
        interf = asm.interf @ np.minimum(rho, 1.0)  # [n_bin]
        sinr_lin = np.where(has, asm.signal_mw / (interf + asm.noise_mw), 0.0)
        with np.errstate(divide="ignore"):
            sinr_db = np.where(has, 10.0 * np.log10(sinr_lin), -np.inf)
        peak_rate = spectral_efficiency(sinr_lin, self._layers[srv], cfg) * self._n_prb[srv] \
            * self._prb_bw_hz[srv] / 1e6  # [n_bin] Mbit/s with all PRBs
        user_thr = np.where(has, peak_rate * np.clip(1.0 - rho[srv], 0.0, 1.0), 0.0)
        offered_cell = np.bincount(srv[has], weights=offered[has], minlength=n_cell)
        served_cell = offered_cell / np.maximum(rho, 1.0)
        unserved_cell = offered_cell - served_cell
        no_server_mbps = float(offered[~has].sum())
        w = np.where(has, offered, 0.0)
        sinr_w = np.bincount(srv[has], weights=(w * np.where(has, sinr_db, 0.0))[has],
                             minlength=n_cell)
        wsum = np.bincount(srv[has], weights=w[has], minlength=n_cell)
        n_bins_cell = np.bincount(srv[has], minlength=n_cell)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_sinr = np.where(wsum > 0, sinr_w / wsum, np.nan)
        res_cell = pd.DataFrame({
            "cell_id": cells["cell_id"].to_numpy(),
            "site_id": cells["site_id"].to_numpy(),
            "prb_util": rho,
            "prb_used": np.minimum(rho, 1.0) * self._n_prb,
            "offered_mbps": offered_cell,
            "served_mbps": served_cell,
            "unserved_mbps": unserved_cell,
            "mean_sinr_db": mean_sinr,
            "n_bins": n_bins_cell.astype(np.int64),
            "overloaded": rho > cfg.overload_threshold,
        })
        x, y = self.demand.grid.xy()
        cell_ids = cells["cell_id"].to_numpy(dtype=object)
        res_bin = pd.DataFrame({
            "bin_id": np.arange(n_bin),
            "x_m": x,
            "y_m": y,
            "serving_cell": np.where(has, cell_ids[srv], None),
            "rsrp_dbm": asm.rsrp_dbm,
            "sinr_db": sinr_db,
            "offered_mbps": offered,
            "user_thr_mbps": user_thr,
        })
        kpis = compute_kpis(
            rho, offered, sinr_db, user_thr, float(served_cell.sum()),
            float(unserved_cell.sum()) + no_server_mbps, cfg.overload_threshold,
            cfg.coverage_sinr_db, cells["cell_id"].tolist())
        kpis["converged"] = converged
        rho_ro = rho.copy()
        rho_ro.setflags(write=False)
        serving = asm.serving.copy()
        serving.setflags(write=False)
        return State(hour=hour, res_cell=res_cell, res_bin=res_bin, kpis=kpis,
                     converged=converged, residual=residual, iterations=iterations,
                     prb_util=rho_ro, serving=serving)

    def load_operator(self, offered: NDArray[np.float64]
                      ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        """The load-coupling map ``f``: utilisation ``[n_cell]`` -> utilisation ``[n_cell]``
        for one offered-traffic map ``[n_bin]`` (Mbit/s). ``f(rho)`` is linear in ``offered``
        for a fixed ``rho``, which calibration uses."""
        cfg = self.config
        asm = self.assembly
        n_cell = len(self.network.cells)
        offered = np.asarray(offered, dtype=float)
        if offered.shape != (self.demand.grid.n_bin,) or not np.isfinite(offered).all() \
                or (offered < 0).any():
            raise ValidationError("demand", "offered traffic must be a finite, non-negative "
                                  f"map of {self.demand.grid.n_bin} bins")
        act = np.flatnonzero((asm.serving >= 0) & (offered > 0))  # bins that load a cell
        srv = asm.serving[act]
        d_bps = offered[act] * 1e6
        m_act = asm.interf[act]  # [n_act, n_cell]
        s_act = asm.signal_mw[act]
        n_act = asm.noise_mw[act]
        layers = self._layers[srv]  # [n_act]
        prb_bw = self._prb_bw_hz[srv]  # [n_act]

        def load(rho: NDArray[np.float64]) -> NDArray[np.float64]:
            sinr = s_act / (m_act @ np.minimum(rho, 1.0) + n_act)
            se = load_spectral_efficiency(sinr, layers, cfg)
            prbs = d_bps / (se * prb_bw)
            return np.bincount(srv, weights=prbs, minlength=n_cell) / self._n_prb

        return load

    def run_day(self) -> pd.DataFrame:
        """KPIs of every hour, one row per hour (0..23), with ``busy_hour`` marked."""
        rows: list[dict[str, Any]] = []
        warm: NDArray[np.float64] | None = None
        busy = self.demand.busy_hour
        for h in range(24):
            st = self.run(h, warm_start=warm)
            warm = np.asarray(st.prb_util)
            row = {"hour": h, **{k: v for k, v in st.kpis.items() if k != "busiest_cell"},
                   "busiest_cell": st.kpis["busiest_cell"], "busy_hour": h == busy}
            rows.append(row)
        return pd.DataFrame(rows)


def run(network: Network, demand: Demand, hour: int | None = None,
        config: RadioConfig | None = None) -> State:
    """Run the twin for one hour; never mutates its inputs. See :class:`Twin`."""
    return Twin(network, demand, config).run(hour)
