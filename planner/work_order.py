"""Work orders: what each chosen action changes (from -> to), what it does, and pruning.

After the loop has chosen and verified a plan, every action is examined with the full twin:

* **from -> to**: the parameter the action changes, read from the network *before* the plan
  (``elec_tilt_deg`` 6 -> 10), with the site and cell it touches;
* **effect alone**: the verified peak, and the target cell's utilisation, when only this
  action is applied to the network as it is (one twin run);
* **contribution**: the verified peak of the plan without the action minus the peak with
  it (one twin run of the plan less the action), i.e. what the action buys *in* the plan.

**Pruning** (:func:`prune`): an action whose removal leaves the verified peak within
``PRUNE_TOLERANCE`` (or lowers it), the target verdict and the policy verdict unchanged is
dropped: it costs money and change risk for nothing. Actions are tried most expensive first
(then smallest linear-model contribution), each against the plan as pruned so far, so two
actions that only help together are never both dropped. Every drop is recorded with its
reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
from actions.rows import describe
from actions.sites import split_cell_ids
from planner.verify import Verification
from twin.network import Network

#: Largest rise of the verified peak (utilisation) that still counts as "unchanged".
PRUNE_TOLERANCE = 0.005
#: Marks a candidate location that the planner generated (no site acquired yet).
GENERATED_PREFIX = "generated"

#: (parameter, unit) each cell action changes.
PARAMETERS: dict[type[ActionBase], tuple[str, str]] = {
    SetTilt: ("elec_tilt_deg", "deg"), SetAzimuth: ("azimuth_deg", "deg"),
    SetPower: ("tx_power_dbm", "dBm"), SetCio: ("cio_db", "dB"),
    UpgradeMimo: ("mimo_layers", "layers"),
}

Verifier = Callable[[Sequence[ActionBase]], Verification]
Gate = Callable[[Sequence[PricedAction], Verification], bool | None]


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def from_to(action: ActionBase, network: Network) -> dict[str, Any]:
    """Site, cell, parameter and its value before -> after ``action`` on ``network`` (the
    network before the plan), plus a one-line work-order text."""
    if isinstance(action, AddSmallCell):
        cand = network.candidate(action.candidate_id)
        name = str(cand.get("name", "-"))
        generated = name.startswith(GENERATED_PREFIX)
        where = f"({float(cand['x_m']):.0f} m, {float(cand['y_m']):.0f} m)"
        return {
            "site_id": action.new_site_id(), "cell_id": action.new_cell_id(),
            "candidate_id": action.candidate_id, "generated": generated,
            "parameter": "small_cell", "from": None,
            "to": {"tx_power_dbm": action.tx_power_dbm, "cio_db": action.cio_db},
            "unit": None, "change": f"no site -> small cell {action.tx_power_dbm:g} dBm, "
                                    f"CIO {action.cio_db:+g} dB",
            "text": (f"build a small cell at {'generated location ' if generated else ''}"
                     f"{action.candidate_id} {where}: {action.tx_power_dbm:g} dBm, CIO "
                     f"{action.cio_db:+g} dB" + ("; site still to be acquired" if generated
                                                 else ""))}
    cid = action.cell_id  # type: ignore[attr-defined]
    row = network.cells.loc[network.cell_index(cid)]
    base = {"site_id": str(row["site_id"]), "cell_id": cid, "candidate_id": None,
            "generated": False}
    if isinstance(action, SplitSector):
        bw = float(row["h_beamwidth_deg"])
        a, b = split_cell_ids(cid)
        return {**base, "parameter": "sectors", "from": 1, "to": 2, "unit": "sectors",
                "change": f"sectors 1 x {bw:g} deg -> 2 x {bw / 2:g} deg ({a}, {b})",
                "text": f"split sector {cid} (site {row['site_id']}) from 1 x {bw:g} deg "
                        f"into 2 x {bw / 2:g} deg ({a}, {b})"}
    param, unit = PARAMETERS[type(action)]
    old = row[param]
    old_v: float | int = int(old) if param == "mimo_layers" else float(old)
    new_v = getattr(action, param)
    return {**base, "parameter": param, "from": old_v, "to": new_v, "unit": unit,
            "change": f"{param} {_fmt(old_v)} -> {_fmt(new_v)}",
            "text": f"{describe(action)} (now {_fmt(old_v)} {unit}; site {row['site_id']})"}


def _cell_util(ver: Verification, cell_id: str) -> float | None:
    """Highest utilisation of ``cell_id`` over the modelled hours or, for a split sector, of
    the busier of its halves; None where the cell does not exist."""
    ids = list(ver.network.cell_ids)
    wanted = [c for c in (cell_id, *split_cell_ids(cell_id)) if c in ids]
    if not wanted:
        return None
    vals = [float(np.asarray(s.prb_util)[ids.index(c)]) for s in ver.states for c in wanted]
    return max(vals)


@dataclass
class Examined:
    """The pruned plan and what was learnt about each action."""

    kept: list[int]
    verification: Verification
    policy_passed: bool | None
    rows: list[dict[str, Any]]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    twin_runs: int = 0


def _met(ver: Verification, target: float) -> bool:
    return bool(ver.peak <= target and ver.converged)


def prune(chosen: Sequence[PricedAction], ver: Verification, passed: bool | None,
          target: float, run: Verifier, gate: Gate,
          order_hint: Sequence[float] | None = None,
          tolerance: float = PRUNE_TOLERANCE) -> tuple[list[int], Verification, bool | None,
                                                       list[dict[str, Any]], int]:
    """Drop the actions that do nothing the verdicts can see (module docstring).

    Args:
        chosen: the plan's candidates; ``ver``/``passed``: its verification and gate verdict.
        run: verifies a list of actions (the full twin); ``gate``: the policy verdict of a
            candidate list with its verification.
        order_hint: a per-action score (e.g. the linear model's contribution); smaller is
            tried first among equal costs.

    Returns:
        kept indices, the kept plan's verification and verdict, the drop records, twin runs.
    """
    keep = list(range(len(chosen)))
    hint = list(order_hint) if order_hint is not None else [0.0] * len(chosen)
    order = sorted(keep, key=lambda i: (-chosen[i].cost.total_eur, hint[i]))
    dropped: list[dict[str, Any]] = []
    runs = 0
    for i in order:
        rest = [k for k in keep if k != i]
        v2 = run([chosen[k].action for k in rest])
        runs += 1
        p2 = gate([chosen[k] for k in rest], v2)
        same_target = _met(v2, target) == _met(ver, target)
        same_policy = (p2 is not False) == (passed is not False)
        if v2.peak <= ver.peak + tolerance and same_target and same_policy and v2.converged:
            dropped.append({
                "key": chosen[i].key, "kind": chosen[i].kind,
                "description": chosen[i].action.model_dump(exclude={"rationale"}),
                "cost": chosen[i].cost.total_eur,
                "peak_with": ver.peak, "peak_without": v2.peak,
                "reason": (("removing it lowers the verified peak by "
                            f"{ver.peak - v2.peak:.4f}" if v2.peak < ver.peak else
                            "removing it raises the verified peak by only "
                            f"{v2.peak - ver.peak:.4f} (tolerance {tolerance:g})") + ", target "
                           f"{'met' if _met(v2, target) else 'missed'} either way, policy "
                           f"{'passed' if p2 is not False else 'denied'} either way: it costs "
                           f"{chosen[i].cost.total_eur:,.0f} for no verified effect")})
            keep, ver, passed = rest, v2, p2
    return keep, ver, passed, dropped, runs


def examine(chosen: Sequence[PricedAction], ver: Verification, base: Verification,
            network: Network, run: Verifier, gate: Gate, target: float,
            order_hint: Sequence[float] | None = None, passed: bool | None = None,
            do_prune: bool = True) -> Examined:
    """Prune the plan, then one work-order row per kept action (module docstring)."""
    runs = 0
    dropped: list[dict[str, Any]] = []
    keep = list(range(len(chosen)))
    if do_prune and chosen:
        keep, ver, passed, dropped, runs = prune(chosen, ver, passed, target, run, gate,
                                                 order_hint)
    rows: list[dict[str, Any]] = []
    for i in keep:
        c = chosen[i]
        row = from_to(c.action, network)
        alone = run([c.action])
        # the plan without its only action is the network as it is
        without = base if len(keep) == 1 else run([chosen[k].action for k in keep if k != i])
        runs += 1 + (len(keep) > 1)
        cell = row["cell_id"]
        row["cost"] = c.cost.total_eur
        row["effect_alone"] = {
            "peak_before": base.peak, "peak_after": alone.peak,
            "cell_id": cell, "cell_util_before": _cell_util(base, cell),
            "cell_util_after": _cell_util(alone, cell)}
        row["contribution"] = {"peak_without": without.peak, "peak_with": ver.peak,
                               "peak_delta": without.peak - ver.peak}
        rows.append(row)
    return Examined(keep, ver, passed, rows, dropped, runs)
