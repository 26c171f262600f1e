"""Small-cell candidate locations where the traffic is, for networks whose candidate list does
not cover an overloaded cell (an OpenCelliD import has no list at all).

For each overloaded cell (utilisation above the target) that no listed candidate location
lies in (no candidate's bin is served by it), the bins it serves are clustered by a
**weighted k-means** of their offered traffic (``sites_per_cell`` clusters, deterministic
k-means++ seeding at the heaviest bins, Lloyd iterations). Each cluster's traffic-weighted
centre is a candidate location, then:

* it keeps ``MIN_SITE_DISTANCE_M`` from every existing site and every other generated location
  (a centre closer to a mast is pushed out along the mast -> centre line): a small cell at the
  foot of a macro mast sits where the macro's signal is strongest and takes little traffic,
  and two small cells closer than that would serve the same hotspot;
* it is dropped when the policy denies a small cell there (forbidden zones, or any other deny
  rule on a default small cell);
* it is marked ``generated`` wherever it appears: its ``name`` starts with ``generated``
  (so the candidates table, the GeoJSON, the LLM's grammar space and the work order carry
  it), its id starts with ``G-``, and the plan lists it under ``candidates.generated``. A
  planner still has to acquire the site.

The locations are added to the network's candidates before the systematic generator and
the LLM proposer run, so both see them like any listed location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from actions.models import AddSmallCell
from planner.candidates import candidate_sites_in_area
from planner.work_order import GENERATED_PREFIX
from policies import PolicySet
from twin.engine import Twin
from twin.network import Network
from twin.schema import validate
from twin.state import State
from twin.tables import CANDIDATES

#: Minimum distance of a generated location from an existing site or another generated one.
MIN_SITE_DISTANCE_M = 50.0
ID_PREFIX = "G-"


@dataclass(frozen=True)
class SiteOptions:
    """How many locations to generate: ``sites_per_cell`` per uncovered overloaded cell, at
    most ``max_sites`` in all (busiest cells first); ``height_m`` of a lamp-post mount."""

    sites_per_cell: int = 2
    max_sites: int = 8
    height_m: float = 6.0
    min_distance_m: float = MIN_SITE_DISTANCE_M
    iterations: int = 25


def weighted_kmeans(xy: NDArray[np.float64], w: NDArray[np.float64], k: int,
                    iterations: int = 25) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centres ``[k', 2]`` and their total weight ``[k']`` (``k' <= k``: empty clusters are
    dropped) of points ``xy`` ``[n, 2]`` with weights ``w`` ``[n]``. Seeding is
    deterministic: the heaviest point, then repeatedly the point maximising
    ``w * d^2`` to the nearest centre (k-means++ without the dice)."""
    keep = w > 0
    xy, w = xy[keep], w[keep]
    if len(w) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    k = max(1, min(k, len(w)))
    centres = [xy[int(np.argmax(w))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        score = w * d2
        if score.max() <= 0:
            break
        centres.append(xy[int(np.argmax(score))])
    c = np.asarray(centres, dtype=float)  # [k, 2]
    for _ in range(iterations):
        label = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)  # [n]
        mass = np.bincount(label, weights=w, minlength=len(c))
        sx = np.bincount(label, weights=w * xy[:, 0], minlength=len(c))
        sy = np.bincount(label, weights=w * xy[:, 1], minlength=len(c))
        new = np.where(mass[:, None] > 0, np.stack([sx, sy], axis=1) / np.maximum(
            mass, 1e-300)[:, None], c)
        if np.allclose(new, c):
            c = new
            break
        c = new
    label = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    mass = np.bincount(label, weights=w, minlength=len(c))
    return c[mass > 0], mass[mass > 0]


def _keep_away(p: NDArray[np.float64], others: NDArray[np.float64], dmin: float
               ) -> NDArray[np.float64]:
    """``p`` moved out to ``dmin`` from the nearest of ``others`` when closer (a few passes:
    moving away from one point may approach another)."""
    q = np.asarray(p, dtype=float).copy()
    if len(others) == 0:
        return q
    for _ in range(4):
        d = np.hypot(others[:, 0] - q[0], others[:, 1] - q[1])
        j = int(np.argmin(d))
        if d[j] >= dmin - 1e-6:
            break
        v = q - others[j]
        n = float(np.hypot(*v))
        v = np.array([1.0, 0.0]) if n < 1e-6 else v / n
        q = others[j] + v * dmin
    return q


def uncovered_hot_cells(twin: Twin, state: State, hot: Sequence[str]) -> list[str]:
    """The hot cells no listed candidate location lies in."""
    return [c for c in hot if not candidate_sites_in_area(twin, state, [c])]


def generate_sites(twin: Twin, state: State, hot: Sequence[str], policy: PolicySet | None = None,
                   options: SiteOptions | None = None) -> pd.DataFrame:
    """Candidate rows (:data:`twin.tables.CANDIDATES` columns) for the uncovered hot cells
    (busiest first), see the module docstring."""
    opt = options or SiteOptions()
    net = twin.network
    util = state.util_by_cell()
    cells = sorted(uncovered_hot_cells(twin, state, hot), key=lambda c: -util.get(c, 0.0))
    grid = twin.demand.grid
    x, y = grid.xy()
    xy_bins = np.stack([np.ravel(x), np.ravel(y)], axis=1)  # [n_bin, 2]
    offered = state.res_bin["offered_mbps"].to_numpy(dtype=float)
    serving = np.asarray(state.serving)
    taken = net.sites[["x_m", "y_m"]].to_numpy(dtype=float)
    if len(net.candidates):
        taken = np.vstack([taken, net.candidates[["x_m", "y_m"]].to_numpy(dtype=float)])
    rows: list[dict[str, Any]] = []
    for cid in cells:
        j = net.cell_index(cid)
        mask = serving == j
        centres, mass = weighted_kmeans(xy_bins[mask], offered[mask], opt.sites_per_cell,
                                        opt.iterations)
        for n, (c, m) in enumerate(sorted(zip(centres, mass, strict=True),
                                          key=lambda t: -t[1])):
            if len(rows) >= opt.max_sites:
                break
            p = _keep_away(c, taken, opt.min_distance_m)
            if np.min(np.hypot(taken[:, 0] - p[0], taken[:, 1] - p[1]),
                      initial=np.inf) < opt.min_distance_m - 1e-6:
                continue  # squeezed between sites: no room for one here
            rows.append({"candidate_id": f"{ID_PREFIX}{cid}-{n + 1}", "x_m": float(p[0]),
                         "y_m": float(p[1]), "height_m": opt.height_m,
                         "name": f"{GENERATED_PREFIX}: traffic peak of {cid} "
                                 f"({m:.1f} Mbit/s in its cluster)",
                         "cell": cid, "cluster_mbps": float(m)})
            taken = np.vstack([taken, p[None]])
    if not rows:
        return pd.DataFrame(columns=[c.name for c in CANDIDATES.columns])
    df = pd.DataFrame(rows)
    if net.origin is not None:
        lat, lon = net.origin.to_wgs84(df["x_m"].to_numpy(), df["y_m"].to_numpy())
        df["lat_deg"], df["lon_deg"] = np.asarray(lat, float), np.asarray(lon, float)
    if policy is not None:
        df = _allowed(df, net, policy)
    return df.reset_index(drop=True)


def _allowed(df: pd.DataFrame, net: Network, policy: PolicySet) -> pd.DataFrame:
    """Rows where the policy does not deny a default small cell (e.g. a forbidden zone)."""
    probe = with_candidates(net, df)
    ok = []
    for cid in df["candidate_id"]:
        a = AddSmallCell(candidate_id=str(cid), tx_power_dbm=30.0, cio_db=0.0)
        deny = [v for v in policy.action_violations(a, probe) if v.severity == "deny"]
        ok.append(not deny)
    return df[np.asarray(ok, dtype=bool)]


def with_candidates(network: Network, rows: pd.DataFrame | Sequence[dict[str, Any]]
                    ) -> Network:
    """``network`` with extra candidate locations (ids already present are kept once)."""
    df = pd.DataFrame(list(rows)) if not isinstance(rows, pd.DataFrame) else rows
    if df.empty:
        return network
    cols = [c.name for c in CANDIDATES.columns if c.name in df.columns]
    known = set(network.candidates["candidate_id"])
    df = df[~df["candidate_id"].isin(known)][cols]
    if df.empty:
        return network
    both = pd.concat([network.candidates, df], ignore_index=True)
    return replace(network, candidates=validate(both, CANDIDATES))


def network_for_result(network: Network, result: dict[str, Any]) -> Network:
    """The network a stored plan was made on: ``network`` plus the candidate locations the
    planner generated (``result["candidates"]["generated"]``), so that the plan's small
    cells at generated locations can be re-verified, gated and exported."""
    gen = ((result or {}).get("candidates") or {}).get("generated") or []
    return with_candidates(network, gen) if gen else network


def generated_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON rows of generated locations (for ``Plan.candidates["generated"]``)."""
    keep = [c for c in ("candidate_id", "x_m", "y_m", "lat_deg", "lon_deg", "height_m",
                        "name", "cell", "cluster_mbps") if c in df.columns]
    out = []
    for rec in df[keep].to_dict(orient="records"):
        out.append({k: (float(v) if isinstance(v, np.floating) else v) for k, v in rec.items()}
                   | {"generated": True})
    return out


def twin_for_result(twin: Twin, result: dict[str, Any]) -> Twin:
    """``twin``, or a twin of :func:`network_for_result` sharing its link cache when the
    plan used generated locations."""
    net = network_for_result(twin.network, result)
    return twin if net is twin.network else Twin(net, twin.demand, twin.config,
                                                 cache=twin.cache)
