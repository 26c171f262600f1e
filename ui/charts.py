"""What the Compare page's charts show at city scale: which cells get a bar, and an axis that
follows the data when cells are overloaded (utilisation above 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_BARS = 40


def bar_cells(pairs: pd.DataFrame, changed: set[str], n: int = MAX_BARS) -> pd.DataFrame:
    """The cells a bar chart can show at city scale: the ``n`` busiest before, the ``n``
    busiest after, and every changed or new one."""
    if len(pairs) <= n:
        return pairs
    top = set(pairs.nlargest(n, "before")["cell_id"]) | set(pairs.nlargest(n, "after")["cell_id"])
    keep = pairs["cell_id"].isin(top | changed) | pairs["before"].isna()
    return pairs[keep]


def util_axis(*series: pd.Series) -> list[float]:
    """[0, 1], or up to the largest utilisation when a cell is overloaded (> 1)."""
    top = max((float(s.max()) for s in series if s.notna().any()), default=1.0)
    return [0.0, max(1.0, float(np.ceil(top * 10.0) / 10.0))]
