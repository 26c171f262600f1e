"""The load-coupling map ``f`` of a twin, its analytic Jacobian and the factorised Jacobians
a twin keeps for its what-ifs.

``f(rho)_c = sum_{b: s(b)=c} D_b / (se_b(rho) * B_prb,c) / n_prb,c`` with ``se_b`` the
truncated Shannon efficiency of the bin's SINR at the interference ``min(rho, 1)`` makes
(twin/engine.py's docstring has the model). A what-if's warm-started run solves ``rho =
f(rho)`` by chord-Newton on its base twin's ``I - J`` (twin/fixedpoint.py), factorised once
per offered-traffic map and kept in a :class:`JacobianCache`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from twin.assembly import Assembly
from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.errors import ValidationError
from twin.fixedpoint import LoadMap, LuFactors, lu_or_none
from twin.interference import Prepared
from twin.spectral import load_spectral_efficiency

#: Factorised base Jacobians a twin keeps for its what-ifs (one per offered-traffic map).
JACOBIAN_CACHE = 4


def load_map(asm: Assembly, arrays: CellArrays, cfg: RadioConfig, offered: NDArray[np.float64],
             counts: dict[str, int]) -> LoadMap:
    """The load-coupling map ``f``: utilisation ``[n_cell]`` -> utilisation ``[n_cell]``
    for one offered-traffic map ``[n_bin]`` (Mbit/s) of a twin (its assembly and cell
    arrays). ``f(rho)`` is linear in ``offered`` for a fixed ``rho``, which calibration uses.
    Each evaluation adds 1 to ``counts["load_evaluations"]``."""
    n_cell = arrays.n_prb.size
    n_bin = asm.grid_n_bin
    offered = np.asarray(offered, dtype=float)
    if offered.shape != (n_bin,) or not np.isfinite(offered).all() or (offered < 0).any():
        raise ValidationError("demand", "offered traffic must be a finite, non-negative "
                              f"map of {n_bin} bins")
    act = np.flatnonzero((asm.serving >= 0) & (offered > 0))  # bins that load a cell
    prep = asm.prepared(act)
    srv = prep.server
    d_bps = offered[act] * 1e6
    s_act = asm.signal_mw[act]
    n_act = asm.noise_mw[act]
    layers = arrays.layers[srv]  # [n_act]
    prb_bw = arrays.prb_bw_hz[srv]  # [n_act]
    op = asm.op

    n_prb = arrays.n_prb

    def load(rho: NDArray[np.float64]) -> NDArray[np.float64]:
        counts["load_evaluations"] += 1
        sinr = s_act / (op.interference(np.minimum(rho, 1.0), prep) + n_act)
        se = load_spectral_efficiency(sinr, layers, cfg)
        prbs = d_bps / (se * prb_bw)
        return np.bincount(srv, weights=prbs, minlength=n_cell) / n_prb

    return load


def load_jacobian(asm: Assembly, arrays: CellArrays, cfg: RadioConfig,
                  offered: NDArray[np.float64], rho: NDArray[np.float64]
                  ) -> NDArray[np.float64]:
    """``[n_cell, n_cell]`` Jacobian ``J[c, j] = d f_c / d rho_j`` of
    :func:`load_map` at ``rho`` ``[n_cell]``, analytically:

        d f_c / d rho_j = sum_{b: s(b) = c} dPRB_b/dse_b dse_b/dSINR_b dSINR_b/dI_b
                          * dI_b/dr_j * [rho_j < 1]

    with ``dI_b/dr_j`` the interference operator's entry (0 for the server itself); the
    derivative is 0 where a kink clips (``min(rho, 1)``, the MCS floor and ``se_max``,
    interference clipped at 0). Costs about one pass over the operator's non-zeros."""
    prep, w = jacobian_weights(asm, arrays, cfg, offered, rho)
    jac = asm.op.jacobian(w, prep, arrays.n_prb.size)
    jac[:, np.asarray(rho) >= 1.0] = 0.0
    return jac


def jacobian_weights(asm: Assembly, arrays: CellArrays, cfg: RadioConfig,
                     offered: NDArray[np.float64], rho: NDArray[np.float64]
                     ) -> tuple[Prepared, NDArray[np.float64]]:
    """The loaded bins and their weights ``dPRB_b/dI_b / n_prb`` (0 where a kink clips) of
    :func:`load_jacobian`: ``J = S^T diag(w) dI/dr``."""
    offered = np.asarray(offered, dtype=float)
    act = np.flatnonzero((asm.serving >= 0) & (offered > 0))
    prep = asm.prepared(act)
    srv = prep.server
    r = np.minimum(np.asarray(rho, dtype=float), 1.0)
    i_mw = asm.op.interference(r, prep)
    tot = i_mw + asm.noise_mw[act]
    sinr = asm.signal_mw[act] / tot
    layers = arrays.layers[srv]
    se = load_spectral_efficiency(sinr, layers, cfg)
    per_layer = cfg.alpha * np.log2(1.0 + sinr / layers)
    floor = min(cfg.alpha * np.log2(1.0 + 10.0 ** (cfg.sinr_min_db / 10.0)),
                cfg.se_max_bps_hz)
    free = (per_layer > floor) & (per_layer < cfg.se_max_bps_hz) & (i_mw > 0.0)
    # L * d(alpha log2(1 + SINR/L))/dSINR = alpha / (ln 2 (1 + SINR/L)).
    dse = np.where(free, cfg.alpha / (np.log(2.0) * (1.0 + sinr / layers)), 0.0)
    # PRB_b = D_b / (se_b B_prb n_prb); dSINR/dI = -SINR / (I + N): both signs cancel.
    w = offered[act] * 1e6 / (arrays.prb_bw_hz[srv] * arrays.n_prb[srv]) * dse / se**2 \
        * sinr / tot
    return prep, w


class JacobianCache:
    """LU factors of ``I - J`` per offered-traffic map (most recent last, at most ``size``),
    None for a singular ``I - J``."""

    def __init__(self, size: int = JACOBIAN_CACHE) -> None:
        self.size = size
        self._lu: list[tuple[NDArray[np.float64], LuFactors | None]] = []

    def get(self, offered: NDArray[np.float64],
            jacobian: Callable[[], NDArray[np.float64]]) -> LuFactors | None:
        """The factors for ``offered`` ``[n_bin]``; on a miss, ``jacobian()`` gives ``J``."""
        for k, (off, lu) in enumerate(self._lu):
            if off.shape == offered.shape and np.array_equal(off, offered):
                self._lu.append(self._lu.pop(k))
                return lu
        jac = jacobian()
        lu = lu_or_none(np.eye(jac.shape[0]) - jac)
        self._lu.append((offered.copy(), lu))
        del self._lu[:-self.size]
        return lu
