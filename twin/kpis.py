"""Network KPIs from per-cell utilisation and per-bin results."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def jain_index(x: NDArray[np.float64]) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 = perfectly even, 1/n = one cell has all."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return 1.0
    sq = float(np.sum(x**2))
    return 1.0 if sq == 0.0 else float(np.sum(x) ** 2 / (x.size * sq))


def weighted_percentile(values: NDArray[np.float64], weights: NDArray[np.float64],
                        q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` with ``weights`` (lower value at ties)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    if not keep.any():
        return float("nan")
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    idx = int(np.searchsorted(cum, q / 100.0 * cum[-1], side="left"))
    return float(v[order][min(idx, v.size - 1)])


def compute_kpis(prb_util: NDArray[np.float64], offered_bin: NDArray[np.float64],
                 sinr_db_bin: NDArray[np.float64], user_thr_bin: NDArray[np.float64],
                 served_mbps: float, unserved_mbps: float, overload_threshold: float,
                 coverage_sinr_db: float, cell_ids: list[str]) -> dict[str, Any]:
    """KPIs of one hour.

    Args:
        prb_util: ``[n_cell]`` PRB utilisation (may exceed 1).
        offered_bin, sinr_db_bin, user_thr_bin: ``[n_bin]`` offered Mbit/s, SINR (dB, -inf
            where no cell reaches the bin) and user throughput (Mbit/s).
        served_mbps, unserved_mbps: network totals.
        overload_threshold: utilisation above which a cell counts as overloaded.
        coverage_sinr_db: SINR floor for coverage.
        cell_ids: ids in the order of ``prb_util``.
    """
    total = float(offered_bin.sum())
    busiest = int(np.argmax(prb_util)) if prb_util.size else -1
    covered = float(offered_bin[sinr_db_bin >= coverage_sinr_db].sum())
    return {
        "peak_prb_util": float(prb_util.max()) if prb_util.size else 0.0,
        "mean_prb_util": float(prb_util.mean()) if prb_util.size else 0.0,
        "jain_index": jain_index(prb_util),
        "n_overloaded": int(np.sum(prb_util > overload_threshold)),
        # a subset summed in another order can exceed the total by one ulp
        "coverage": min(1.0, covered / total) if total > 0 else 1.0,
        "unserved_mbps": float(unserved_mbps),
        "served_mbps": float(served_mbps),
        "offered_mbps": total,
        "p5_user_thr_mbps": weighted_percentile(user_thr_bin, offered_bin, 5.0),
        "busiest_cell": cell_ids[busiest] if busiest >= 0 else None,
        "overload_threshold": overload_threshold,
    }
