"""Synthetic TS 28.552 counters of a ground truth: what a scenario's counters file holds when
nobody measured it (the generated and shipped synthetic scenarios say so in their docs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.engine import Twin
from twin.measurements import PRB_AVAIL, PRB_USED, UE_THP, VOLUME


def synthetic_counters(truth: Twin, n_prb: int, noise_sigma: float, rng: np.random.Generator,
                       throughput_and_volume: bool = False) -> pd.DataFrame:
    """One row per cell and hour of ``truth`` run over the day: ``RRU.PrbUsedDl`` from its
    utilisation plus Gaussian counter noise of ``noise_sigma`` (clipped to 0.001..0.99),
    ``RRU.PrbAvailDl`` = ``n_prb``; with ``throughput_and_volume`` also the mean UE throughput
    of the cell's bins (kbit/s) and the served volume of the hour (Mbit)."""
    rows = []
    for h in range(24):
        st = truth.run(h)
        for rec in st.res_cell.itertuples(index=False):
            util = float(np.clip(rec.prb_util + rng.normal(0.0, noise_sigma), 0.001, 0.99))
            row = {"cell_id": rec.cell_id, "hour": h, PRB_USED: round(util * n_prb, 3),
                   PRB_AVAIL: float(n_prb)}
            if throughput_and_volume:
                thp = st.res_bin.loc[st.res_bin["serving_cell"] == rec.cell_id, "user_thr_mbps"]
                row[UE_THP] = round(float(thp.mean()) * 1000.0, 1) if len(thp) else None
                row[VOLUME] = round(rec.served_mbps * 3600.0, 1)
            rows.append(row)
    return pd.DataFrame(rows)
