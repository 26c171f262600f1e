"""Checking an intent against one network: every id must exist; nothing is guessed.

:func:`check_intent` lists the ids an intent names that the network does not have (an intent
read from a document or built by hand); :func:`area_cells` and :func:`area_candidates` turn
the area into the cells and candidate sites a plan may touch.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import Point, Polygon

from planner.intent.model import DEFAULT_RADIUS_M, Area, PlanningIntent, Unmatched
from twin.errors import ValidationError
from twin.network import Network


def check_intent(intent: PlanningIntent, network: Network) -> list[Unmatched]:
    """Ids in ``intent`` that ``network`` lacks (empty: every id exists)."""
    cells = set(network.cells["cell_id"].astype(str))
    sites = set(network.sites["site_id"].astype(str))
    out: list[Unmatched] = []

    def need(field: str, ids: list[str], known: set[str], what: str) -> None:
        for i in ids:
            if i not in known:
                out.append(Unmatched(field=field, text=i[:200],
                                     reason=f"no {what} {i!r} in network {network.name!r}"))

    need("protected_cells", intent.protected_cells, cells, "cell")
    need("protected_sites", intent.protected_sites, sites, "site")
    a = intent.area
    need("area", a.cell_ids, cells, "cell")
    need("area", a.site_ids, sites, "site")
    if a.center_cell_id is not None:
        need("area", [a.center_cell_id], cells, "cell")
    if a.kind == "polygon" and not Polygon(a.polygon).is_valid:
        out.append(Unmatched(field="area", text=str(a.polygon)[:200],
                             reason="the polygon is not valid (it crosses itself)"))
    return out


def require_valid(intent: PlanningIntent, network: Network) -> None:
    """Raise :class:`ValidationError` listing every unmatched item (the intent's own and
    the ids the network lacks): a plan is never run on a guess."""
    problems = list(intent.unmatched) + check_intent(intent, network)
    if problems:
        text = "; ".join(f"{p.field}: {p.text!r} ({p.reason})" for p in problems)
        raise ValidationError("intent", f"the request names what network {network.name!r} "
                              f"does not have, nothing planned: {text}")
    if not intent.effective_kinds():
        raise ValidationError("intent", "the request forbids every action kind; nothing to "
                              "plan")


def _site_xy(network: Network) -> dict[str, tuple[float, float]]:
    s = network.sites
    return {str(i): (float(x), float(y)) for i, x, y in zip(s["site_id"], s["x_m"], s["y_m"],
                                                            strict=True)}


def _area_points(area: Area, network: Network) -> tuple[list[tuple[float, float]], float]:
    """Sites (x, y) at the heart of a cells/sites/around-cell area, and the radius around
    them in which the plan may act."""
    xy = _site_xy(network)
    c = network.cells
    site_of = dict(zip(c["cell_id"].astype(str), c["site_id"].astype(str), strict=True))
    if area.kind == "cells":
        sites = {site_of[i] for i in area.cell_ids if i in site_of}
    elif area.kind == "sites":
        sites = {i for i in area.site_ids if i in xy}
    else:  # around_cell
        sites = {site_of[area.center_cell_id]} if area.center_cell_id in site_of else set()
    return [xy[s] for s in sorted(sites)], float(area.radius_m or DEFAULT_RADIUS_M)


def area_cells(area: Area, network: Network) -> list[str] | None:
    """Cells the plan may change inside ``area`` (None: the whole network).

    Listed cells or sites are the cells to relieve; their load goes to the neighbours, so the
    plan may act on every cell whose site is within the area radius (default
    ``DEFAULT_RADIUS_M``) of a listed site. Around a cell: the cells within the radius. A
    polygon: the cells whose site lies inside it."""
    if area.kind == "network":
        return None
    c = network.cells
    xy = _site_xy(network)
    if area.kind == "polygon":
        poly = Polygon(area.polygon)
        inside = {s for s, p in xy.items() if poly.covers(Point(p))}
    else:
        pts, radius = _area_points(area, network)
        inside = {s for s, (x, y) in xy.items()
                  if any(np.hypot(x - px, y - py) <= radius for px, py in pts)}
    return [str(i) for i, s in zip(c["cell_id"], c["site_id"], strict=True) if str(s) in inside]


def area_candidates(area: Area, network: Network) -> list[str] | None:
    """Candidate small-cell sites inside ``area`` (None: all of them)."""
    if area.kind == "network":
        return None
    cand = network.candidates
    if cand is None or len(cand) == 0:
        return []
    pos = list(zip(cand["candidate_id"].astype(str), cand["x_m"], cand["y_m"], strict=True))
    if area.kind == "polygon":
        poly = Polygon(area.polygon)
        return [i for i, x, y in pos if poly.covers(Point(float(x), float(y)))]
    pts, radius = _area_points(area, network)
    return [i for i, x, y in pos
            if any(np.hypot(float(x) - px, float(y) - py) <= radius for px, py in pts)]
