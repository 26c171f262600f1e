"""The systematic candidate generator: every knob of the cells around the overloaded ones,
plus every candidate small-cell location in their area, each priced from the cost catalogue.

Which cells: the *hot* cells (PRB utilisation above the target in one of the planned hours)
and their *neighbours*, the cells that take the hot cells' traffic when those shed it: a probe
what-if lowers the hot cells' CIO by 8 dB (a handover margin, TS 36.331 A3 logic) and the
cells whose offered traffic grows are ranked by their share of what was shed. The
``max_neighbours`` cells with the largest share (at least ``min_neighbour_share``) are kept.

Which options (all values are absolute, derived from the cell's current setting):

* hot cells shed load: electrical downtilt +2/+4 deg, CIO -3/-6 dB, power -3 dB, azimuth
  +-15 deg, split into two sectors, MIMO upgrade to 4 and 8 layers;
* neighbours absorb it: tilt -2/+2 deg, CIO +3/+6 dB, azimuth +-15 deg, split, MIMO to 4
  layers (the next step);
* small cells: each candidate location whose bin is served by a hot cell or a neighbour,
  at 30 and 37 dBm, CIO 0/3/6 dB (same carrier as the macro layer: no extra spectrum).

The directions are systematic, not clever: uptilting an overloaded cell or raising its CIO can
only add load to it, so those options would cost what-ifs and never be chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from actions.apply import apply_actions
from actions.costs import CostCatalogue
from actions.models import (
    ActionBase,
    AddSmallCell,
    SetAzimuth,
    SetCio,
    SetPower,
    SetTilt,
    SplitSector,
    UpgradeMimo,
)
from actions.pricing import PricedAction
from twin.engine import Twin
from twin.network import Network
from twin.state import State

#: Schema bounds of the knobs (twin/tables.py CELLS) that candidate values are clipped to.
TILT_RANGE_DEG = (-10.0, 30.0)
CIO_RANGE_DB = (-24.0, 24.0)
POWER_RANGE_DBM = (0.0, 60.0)


@dataclass(frozen=True)
class GeneratorOptions:
    """Option values of the systematic generator (see the module docstring)."""

    max_neighbours: int = 6
    min_neighbour_share: float = 0.02
    probe_cio_db: float = 8.0
    hot_tilt_steps_deg: tuple[float, ...] = (2.0, 4.0)
    hot_cio_steps_db: tuple[float, ...] = (-3.0, -6.0)
    hot_power_steps_db: tuple[float, ...] = (-3.0,)
    hot_mimo_layers: tuple[int, ...] = (4, 8)
    neighbour_tilt_steps_deg: tuple[float, ...] = (-2.0, 2.0)
    neighbour_cio_steps_db: tuple[float, ...] = (3.0, 6.0)
    neighbour_mimo_layers: tuple[int, ...] = (4,)
    azimuth_steps_deg: tuple[float, ...] = (-15.0, 15.0)
    split: bool = True
    small_cell_power_dbm: tuple[float, ...] = (30.0, 37.0)
    small_cell_cio_db: tuple[float, ...] = (0.0, 3.0, 6.0)


@dataclass(frozen=True)
class Focus:
    """The cells the generator looked at.

    Attributes:
        hot: ids of cells above the target, busiest first.
        neighbours: their handover neighbours, largest traffic share first.
        share: neighbour id -> share of the hot cells' traffic it is second-best for.
        sites: candidate location ids in the focus area.
    """

    hot: tuple[str, ...]
    neighbours: tuple[str, ...]
    share: dict[str, float] = field(default_factory=dict)
    sites: tuple[str, ...] = ()

    @property
    def cells(self) -> tuple[str, ...]:
        return self.hot + self.neighbours


def hot_cells(states: Sequence[State], target: float) -> list[str]:
    """Cells whose utilisation exceeds ``target`` in any of ``states``, busiest first."""
    peak: dict[str, float] = {}
    for st in states:
        for cid, u in st.util_by_cell().items():
            peak[cid] = max(peak.get(cid, 0.0), u)
    return [c for c, u in sorted(peak.items(), key=lambda kv: -kv[1]) if u > target]


def find_focus(twin: Twin, state: State, hot: Sequence[str],
               options: GeneratorOptions | None = None) -> Focus:
    """Hot cells' handover neighbours and the candidate locations in their area.

    The neighbours are found by asking the twin: a probe what-if lowers the hot cells' CIO
    by ``probe_cio_db``; the cells whose offered traffic grows are the ones that take the hot
    cells' edge users (their share = growth / what the hot cells shed). This uses only the
    twin's public interface and follows whatever association rule the engine implements.

    Args:
        twin: the twin of the network ``state`` was computed on.
        state: a State of that twin (its hour is probed; its serving map locates sites).
        hot: ids of the overloaded cells.
    """
    opt = options or GeneratorOptions()
    ids = twin.network.cell_ids
    hot = [c for c in hot if c in set(ids)]
    if not hot:
        return Focus((), (), {}, ())
    cells = twin.network.cells.set_index("cell_id")
    probe = apply_actions(twin.network, [
        SetCio(cell_id=c, cio_db=_clip(float(cells.loc[c, "cio_db"]) - opt.probe_cio_db,
                                       CIO_RANGE_DB)) for c in hot])
    hour = state.hour if 0 <= state.hour < 24 else None
    after = twin.what_if(probe).run(hour, warm_start=np.asarray(state.prb_util))
    before_mbps = state.res_cell.set_index("cell_id")["offered_mbps"]
    gain = (after.res_cell.set_index("cell_id")["offered_mbps"] - before_mbps).drop(hot)
    shed = float((before_mbps.loc[hot] - after.res_cell.set_index("cell_id")
                  .loc[hot, "offered_mbps"]).sum())
    share = (gain.clip(lower=0.0) / shed) if shed > 0 else gain * 0.0
    share = share[share >= opt.min_neighbour_share].sort_values(ascending=False, kind="stable")
    neigh = [str(c) for c in share.index[: opt.max_neighbours]]
    sites = candidate_sites_in_area(twin, state, hot + neigh)
    return Focus(tuple(hot), tuple(neigh), {c: float(share[c]) for c in neigh}, tuple(sites))


def candidate_sites_in_area(twin: Twin, state: State, cell_ids: Iterable[str]) -> list[str]:
    """PricedAction locations whose bin is served by one of ``cell_ids`` in ``state``."""
    grid = twin.demand.grid
    wanted = set(cell_ids)
    serving = state.res_bin["serving_cell"].to_numpy()
    out = []
    for rec in twin.network.candidates.itertuples(index=False):
        x, y = float(rec.x_m), float(rec.y_m)
        ix = int(np.floor((x - grid.x0_m) / grid.spacing_m + 0.5))
        iy = int(np.floor((y - grid.y0_m) / grid.spacing_m + 0.5))
        if not (0 <= ix < grid.nx and 0 <= iy < grid.ny):
            continue
        if serving[iy * grid.nx + ix] in wanted:
            out.append(str(rec.candidate_id))
    return out


def _clip(v: float, lo_hi: tuple[float, float]) -> float:
    return float(min(max(v, lo_hi[0]), lo_hi[1]))


def cell_actions(cell: pd.Series, util: float, role: str,
                 options: GeneratorOptions) -> list[ActionBase]:
    """The systematic options of one cell (a row of ``Network.cells``); ``role`` is ``hot``
    or ``neighbour``."""
    cid = str(cell["cell_id"])
    omni = str(cell["antenna"]) == "omni"
    tilt = float(cell["elec_tilt_deg"])
    cio = float(cell["cio_db"])
    power = float(cell["tx_power_dbm"])
    az = float(cell["azimuth_deg"])
    layers = int(cell["mimo_layers"])
    hot = role == "hot"
    why = (f"{cid} is at {util:.2f} PRB utilisation" if hot
           else f"{cid} neighbours the overloaded cells ({util:.2f} PRB utilisation)")
    acts: list[ActionBase] = []
    if not omni:
        for d in (options.hot_tilt_steps_deg if hot else options.neighbour_tilt_steps_deg):
            new = _clip(tilt + d, TILT_RANGE_DEG)
            if new != tilt:
                verb = "downtilt" if new > tilt else "uptilt"
                effect = "shrink its footprint" if new > tilt else "widen its footprint"
                acts.append(SetTilt(cell_id=cid, elec_tilt_deg=new,
                                    rationale=f"{why}; {verb} to {new:g} deg to {effect}"))
    for d in (options.hot_cio_steps_db if hot else options.neighbour_cio_steps_db):
        new = _clip(cio + d, CIO_RANGE_DB)
        if new != cio:
            acts.append(SetCio(cell_id=cid, cio_db=new, rationale=(
                f"{why}; CIO {new:+g} dB " + ("hands edge users to neighbours" if new < cio
                                              else "attracts edge users from the hot cells"))))
    if hot:
        for d in options.hot_power_steps_db:
            new = _clip(power + d, POWER_RANGE_DBM)
            if new != power:
                acts.append(SetPower(cell_id=cid, tx_power_dbm=new,
                                     rationale=f"{why}; {new:g} dBm shrinks its footprint"))
    if not omni:
        for d in options.azimuth_steps_deg:
            new = (az + d) % 360.0
            acts.append(SetAzimuth(cell_id=cid, azimuth_deg=new,
                                   rationale=f"{why}; turn to {new:g} deg to move its footprint"))
        if options.split:
            acts.append(SplitSector(cell_id=cid, rationale=(
                f"{why}; two half-width sectors double the capacity over its area")))
    for m in (options.hot_mimo_layers if hot else options.neighbour_mimo_layers):
        if m > layers:
            acts.append(UpgradeMimo(cell_id=cid, mimo_layers=m,  # type: ignore[arg-type]
                                    rationale=f"{why}; {m} MIMO layers raise its capacity"))
    return acts


def small_cell_actions(site_ids: Iterable[str], options: GeneratorOptions,
                       generated: Iterable[str] = ()) -> list[ActionBase]:
    """Small cells at ``site_ids``; those in ``generated`` (locations the planner placed at
    a traffic peak, planner.generated_sites) say so in their rationale."""
    gen = set(generated)
    acts: list[ActionBase] = []
    for sid in site_ids:
        where = ("generated location at a traffic peak, site still to be acquired"
                 if sid in gen else "in the overloaded area")
        for p in options.small_cell_power_dbm:
            for c in options.small_cell_cio_db:
                acts.append(AddSmallCell(candidate_id=sid, tx_power_dbm=p, cio_db=c, rationale=(
                    f"small cell at {sid} ({where}; {p:g} dBm, CIO {c:+g} dB) "
                    "offloads the macro layer on the same carrier")))
    return acts


def generated_ids(network: Network) -> list[str]:
    """PricedAction locations of ``network`` that the planner generated (name ``generated...``)."""
    cand = network.candidates
    if cand.empty:
        return []
    names = cand["name"].astype(str)
    return [str(c) for c in cand.loc[names.str.startswith("generated"), "candidate_id"]]


def price_all(actions: Iterable[ActionBase], twin: Twin, catalogue: CostCatalogue,
              source: str = "systematic") -> list[PricedAction]:
    """``actions`` priced from ``catalogue`` on the twin's network."""
    return [PricedAction.of(a, twin.network, catalogue, source) for a in actions]


def generate_candidates(twin: Twin, states: Sequence[State], target: float,
                        catalogue: CostCatalogue, options: GeneratorOptions | None = None,
                        exclude_cells: Iterable[str] = ()) -> tuple[list[PricedAction], Focus]:
    """The systematic candidates around the cells above ``target``.

    Args:
        twin: twin of the network to change (candidate values derive from its settings).
        states: its States at the planned hours (the first is used for the neighbour search).
        target: utilisation above which a cell is hot.
        exclude_cells: hot cells already covered (e.g. by an earlier round).

    Returns:
        the priced candidates (unique by change) and the focus they were built on.
    """
    opt = options or GeneratorOptions()
    if not states:
        return [], Focus((), ())
    hot = [c for c in hot_cells(states, target) if c not in set(exclude_cells)]
    # The busiest hour of the hot cells drives the neighbour search.
    st = max(states, key=lambda s: float(np.max(np.asarray(s.prb_util))))
    focus = find_focus(twin, st, hot, opt)
    util = st.util_by_cell()
    cells = twin.network.cells.set_index("cell_id", drop=False)
    acts: list[ActionBase] = []
    for cid in focus.hot:
        acts += cell_actions(cells.loc[cid], util.get(cid, 0.0), "hot", opt)
    for cid in focus.neighbours:
        acts += cell_actions(cells.loc[cid], util.get(cid, 0.0), "neighbour", opt)
    acts += small_cell_actions(focus.sites, opt, generated_ids(twin.network))
    return unique(price_all(acts, twin, catalogue)), focus


def unique(cands: Iterable[PricedAction], known: Iterable[PricedAction] = ()) -> list[PricedAction]:
    """``cands`` without repeats and without changes already in ``known`` (by :attr:`key`)."""
    seen = {c.key for c in known}
    out = []
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            out.append(c)
    return out


def summary(cands: Sequence[PricedAction]) -> dict[str, Any]:
    """Counts of candidates by kind (for reports)."""
    counts: dict[str, int] = {}
    for c in cands:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    return {"n": len(cands), "by_kind": counts}
