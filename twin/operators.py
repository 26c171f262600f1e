"""The pieces of a twin's interference operator and its per-bin radio arrays.

The co-channel power ``sum_{j != s} min(rho_j, 1) P_j g_bj`` is a linear map of the
utilisation (twin/interference.py): one block of columns per carrier, each column a cell's
exact near links (the far-field interpolation subtracted, so that near bins get the exact gain)
followed by its far-field lattice gains. The server's own term is subtracted per bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from twin.cell_arrays import CellArrays
from twin.config import RadioConfig
from twin.interference import Block
from twin.links import LN10_10, FarField, TieredLinks


def carrier_groups(fc: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Group carriers that are equal up to ``np.isclose`` (co-channel cells): the group of
    each cell ``[n_cell]`` and the carrier of each group (GHz)."""
    uniq = np.unique(fc)
    reps: list[float] = []
    for f in uniq:
        if not reps or not np.isclose(f, reps[-1]):
            reps.append(float(f))
    rep = np.array(reps)
    idx = np.searchsorted(rep, fc, side="right") - 1
    return np.clip(idx, 0, len(rep) - 1).astype(np.int64), rep


def bin_arrays(cells: CellArrays, config: RadioConfig, serving: NDArray[np.int64],
               rx: NDArray[np.float64], carrier: NDArray[np.int64]) -> dict[str, NDArray[Any]]:
    """``rsrp_dbm``, ``signal_mw``, ``noise_mw`` and ``carrier_bin`` per output bin from its
    server (-1 = none) and the server's received power ``rx`` (dBm)."""
    has = serving >= 0
    srv = np.maximum(serving, 0)
    rsrp = np.where(has, rx - cells.rs_db[srv], -np.inf)
    signal = np.where(has, 10.0 ** (rx / 10.0), 0.0)
    noise_dbm = (config.thermal_noise_dbm_hz + config.noise_figure_db
                 + 10.0 * np.log10(cells.bw_hz[srv]))
    return {"rsrp_dbm": rsrp, "signal_mw": signal, "noise_mw": 10.0 ** (noise_dbm / 10.0),
            "carrier_bin": np.where(has, carrier[srv], -1)}


def own_mw(cells: CellArrays, far: FarField | None, serving: NDArray[np.int64],
           is_outer: NDArray[np.bool_], signal: NDArray[np.float64], links: list[TieredLinks],
           out_bins: NDArray[np.int64] | None) -> NDArray[np.float64]:
    """The server's own term of the interference operator per output bin: its exact
    signal, or for a server beyond its near zone the far-field value the operator holds."""
    own = signal.copy()
    if far is None or not is_outer.any():
        return own
    for j in np.unique(serving[is_outer]):
        pos = np.flatnonzero(is_outer & (serving == j))
        b = pos if out_bins is None else out_bins[pos]
        own[pos] = 10.0 ** (cells.tx_dbm[j] / 10.0) * far.cell_gain_lin(links[j], b)
    return own


def operator_blocks(cells: CellArrays, n_bin: int, far: FarField | None,
                    cols: NDArray[np.int64], links: list[TieredLinks],
                    carrier: NDArray[np.int64]) -> list[Block]:
    """Operator columns of ``cols``, one block per carrier (filled in place: the arrays
    are the largest of the twin)."""
    n_rows = n_bin + (far.nodes.n_bin if far is not None else 0)
    blocks = []
    for f in np.unique(carrier[cols]):
        cf = cols[carrier[cols] == f]
        counts = np.array([links[j].bins.size + links[j].nodes.size for j in cf],
                          dtype=np.int64)
        indptr = np.zeros(cf.size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        data = np.empty(int(indptr[-1]))
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        for k, j in enumerate(cf.tolist()):
            tl = links[j]
            p_mw = 10.0 ** (cells.tx_dbm[j] / 10.0)
            s0, n = int(indptr[k]), tl.bins.size
            near = data[s0:s0 + n]
            np.multiply(tl.gain_db, LN10_10, out=near)
            np.exp(near, out=near)
            if tl.far_lin is not None:
                # Near bins: exact gain = (exact - far field) + far field via the nodes.
                np.subtract(near, tl.far_lin, out=near)
            near *= p_mw
            indices[s0:s0 + n] = tl.bins
            if tl.nodes.size:
                nodes = data[s0 + n:int(indptr[k + 1])]
                np.multiply(tl.node_gain_db, LN10_10, out=nodes)
                np.exp(nodes, out=nodes)
                nodes *= p_mw
                np.add(tl.nodes, n_bin, out=indices[s0 + n:int(indptr[k + 1])])
        mat = sp.csc_matrix((data, indices, indptr), shape=(n_rows, cf.size))
        blocks.append(Block(int(f), cf.astype(np.int64), np.ones(cf.size), mat))
    return blocks
