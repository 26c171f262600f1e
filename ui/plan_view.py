"""Turning a plan's result (the JSON of ``celltwin plan --json``, as ``GET /plans/{id}``
returns it) into what the Plan and Compare pages show: the after-state map features, the
action table, the optimiser's rounds, the rejected proposals with their reasons, KPI deltas.

Pure functions of JSON (no Streamlit, no HTTP), so they are tested directly.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

KPI_LABELS = (("peak_prb_util", "Peak PRB utilisation", True),
              ("mean_prb_util", "Mean PRB utilisation", True),
              ("jain_index", "Jain index", False),
              ("n_overloaded", "Overloaded cells", True),
              ("p5_user_thr_mbps", "5th pct user thr. (Mbit/s)", False),
              ("coverage", "Coverage", False))


def changed_cells(result: dict[str, Any]) -> set[str]:
    """Existing cells the plan changes (every action's targets but new small cells)."""
    out: set[str] = set()
    for a in result.get("actions") or []:
        if a.get("kind") == "add_small_cell":
            continue
        out.update(str(t) for t in a.get("targets") or [])
        if a.get("cell_id"):
            out.add(str(a["cell_id"]))
    return out


def _by_id(rows: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(r.get("cell_id")): r for r in rows or []}


def after_geo(before: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The state GeoJSON with each cell's ``prb_util`` replaced by its value after the plan.

    Geometry comes from the before state (an action changes parameters, not the drawing);
    the new small cells are returned by :func:`new_cell_points`.
    """
    doc = copy.deepcopy(before)
    after = _by_id(result.get("cells_after"))
    for f in doc.get("features", []):
        p = f.get("properties") or {}
        if p.get("feature_type") == "cell":
            row = after.get(str(p.get("cell_id")))
            p["prb_util_before"] = p.get("prb_util")
            p["prb_util"] = None if row is None else row.get("prb_util")
    return doc


def new_cell_points(before: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """Point features of the plan's new small cells, at their candidate locations, with the
    action's cost and description and (when known) the new cell's utilisation after."""
    cands = {str((f.get("properties") or {}).get("candidate_id")): f
             for f in before.get("features", [])
             if (f.get("properties") or {}).get("feature_type") == "candidate"}
    after = result.get("cells_after") or []
    out = []
    for a in result.get("actions") or []:
        if a.get("kind") != "add_small_cell":
            continue
        cid = str(a.get("candidate_id"))
        f = cands.get(cid)
        if f is None:
            continue
        util = next((r.get("prb_util") for r in after if cid in str(r.get("cell_id", ""))),
                    None)
        out.append({"type": "Feature", "geometry": f["geometry"],
                    "properties": {"candidate_id": cid, "name": f["properties"].get("name"),
                                   "cost": a.get("cost"), "prb_util": util,
                                   "description": a.get("description")}})
    return out


#: Who proposed an action (the plan's ``source``): the LLM's rationale is the model's own,
#: unchecked text, the systematic generator's is written from the twin's numbers.
SOURCE_LABELS = {"systematic": "systematic", "proposer": "LLM"}


def _num(v: Any, fmt: str = ".3f") -> str:
    return "-" if v is None else format(float(v), fmt)


def action_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per chosen action: what, where (site, cell), the value before -> after, cost,
    its verified effect alone and its contribution in the plan, who proposed it and why."""
    rows = []
    for a in result.get("actions") or []:
        wo = a.get("work_order") or {}
        alone, part = wo.get("effect_alone") or {}, wo.get("contribution") or {}
        rows.append({
            "kind": a.get("kind"), "change": a.get("description") or a.get("kind"),
            "targets": ", ".join(str(t) for t in a.get("targets") or []),
            "site": wo.get("site_id") or "-", "cell": wo.get("cell_id") or "-",
            "from_to": wo.get("change") or "-",
            "generated_site": bool(wo.get("generated")),
            "cost_eur": a.get("cost"),
            "peak_alone": (f"{_num(alone.get('peak_before'))} -> "
                           f"{_num(alone.get('peak_after'))}") if alone else "-",
            "cell_alone": (f"{_num(alone.get('cell_util_before'))} -> "
                           f"{_num(alone.get('cell_util_after'))}") if alone else "-",
            "contribution": part.get("peak_delta"),
            "proposed_by": SOURCE_LABELS.get(a.get("source", ""), a.get("source") or "-"),
            "rationale": a.get("rationale", "")})
    return rows


def dropped_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Actions the optimiser chose that the verification showed to be idle, and why."""
    return [{"action": d.get("key"), "cost_eur": d.get("cost"), "reason": d.get("reason")}
            for d in result.get("dropped") or []]


def frontier_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """What other budgets buy (verified), when the target is missed or the plan denied."""
    return [{"budget_eur": f.get("budget_eur"), "cost_eur": f.get("cost_eur"),
             "peak": f.get("peak_prb_util"), "target_met": f.get("target_met"),
             "policy_passed": f.get("policy_passed"),
             "kinds": ", ".join(f"{k} x{n}" for k, n in (f.get("kinds") or {}).items())}
            for f in result.get("frontier") or []]


def round_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The select-verify rounds: what the optimiser chose, predicted vs verified peak."""
    rows = []
    for h in result.get("history") or []:
        rows.append({"round": h.get("iteration"), "candidates": h.get("n_candidates"),
                     "milp": h.get("milp_status"), "chosen": len(h.get("chosen") or []),
                     "cost_eur": h.get("cost"), "predicted_peak": h.get("predicted_peak"),
                     "verified_peak": h.get("verified_peak"), "lp_bound": h.get("lp_bound"),
                     "accepted": h.get("accepted"),
                     "actions": "; ".join(str(c) for c in h.get("chosen") or [])})
    return rows


def _violation_text(v: Any) -> str:
    if isinstance(v, dict):
        rid = v.get("rule") or v.get("id") or v.get("rule_id") or ""
        msg = v.get("message") or v.get("summary") or v.get("reason") or ""
        return f"{rid}: {msg}".strip(": ")
    return str(v)


def _walk_rejected(node: Any, source: str, out: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "rejected" and isinstance(v, list):
                for r in v:
                    if isinstance(r, dict):
                        out.append({"source": source, "proposal": _short(r.get("proposal", r)),
                                    "reason": str(r.get("reason", ""))})
            else:
                _walk_rejected(v, source if k not in ("llm", "proposer") else "LLM", out)
    elif isinstance(node, list):
        for x in node:
            _walk_rejected(x, source, out)


def _short(p: Any) -> str:
    if isinstance(p, dict):
        kind = p.get("kind", "?")
        args = ", ".join(f"{k}={v}" for k, v in p.items()
                         if k not in ("kind", "rationale") and v is not None)
        return f"{kind}({args})"
    return str(p)


def rejected_rows(result: dict[str, Any], provenance: dict[str, Any] | None = None
                  ) -> list[dict[str, Any]]:
    """Every proposal that did not make it, with the reason: denied by policy before the
    optimiser saw it, dropped as invalid, rejected from the LLM's output, or a round's
    selection that the twin did not confirm."""
    out: list[dict[str, Any]] = []
    cands = result.get("candidates") or {}
    for d in cands.get("denied_by_policy") or []:
        out.append({"source": "policy", "proposal": str(d.get("candidate", d)),
                    "reason": "; ".join(_violation_text(v) for v in d.get("violations") or [])})
    for n in cands.get("notes") or []:
        if str(n).startswith("proposal dropped"):
            head, _, why = str(n).partition("): ")
            out.append({"source": "validation", "proposal": head.removeprefix(
                "proposal dropped (").strip(), "reason": why})
    _walk_rejected({k: v for k, v in result.items() if k not in ("candidates", "history")},
                   "proposer", out)
    if provenance:
        _walk_rejected(provenance, "LLM", out)
    target = result.get("target")
    for h in result.get("history") or []:
        if h.get("accepted") is False:
            why = []
            vp = h.get("verified_peak")
            if vp is not None and target is not None and vp > target:
                why.append(f"the twin verified peak {vp:.3f} > target {target:.2f} "
                           f"(the model predicted {h.get('predicted_peak') or float('nan'):.3f})")
            if h.get("policy_passed") is False:
                why.append("the policy gate denied the selection")
            out.append({"source": f"optimiser round {h.get('iteration')}",
                        "proposal": "; ".join(str(c) for c in h.get("chosen") or []),
                        "reason": "; ".join(why) or "a later round did better"})
    return _dedupe(out)


def _dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in rows:
        key = (r["source"], r["proposal"], r["reason"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def kpi_deltas(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Before, after and change of each KPI (``lower_is_better`` for the colour)."""
    b, a = result.get("before") or {}, result.get("after") or {}
    rows = []
    for key, label, lower_better in KPI_LABELS:
        if b.get(key) is None or a.get(key) is None:
            continue
        rows.append({"kpi": key, "label": label, "before": float(b[key]),
                     "after": float(a[key]), "delta": float(a[key]) - float(b[key]),
                     "lower_is_better": lower_better})
    return rows


def util_pairs(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per cell: utilisation before and after (new cells have no before)."""
    before, after = _by_id(result.get("cells_before")), _by_id(result.get("cells_after"))
    ids = list(before) + [c for c in after if c not in before]
    return [{"cell_id": c,
             "before": (before.get(c) or {}).get("prb_util"),
             "after": (after.get(c) or {}).get("prb_util")} for c in ids]


def cdf(values: list[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF: sorted values and the fraction of cells at or below each."""
    v = np.sort(np.asarray([x for x in values if x is not None], dtype=float))
    return v, np.arange(1, v.size + 1) / max(v.size, 1)


def time_left(elapsed_s: float, fraction: float, min_fraction: float = 0.05) -> str:
    """``", about N s left"`` at the pace so far (elapsed / fraction), once enough of the job
    has run to tell (``min_fraction``); empty before and at the end."""
    if fraction < min_fraction or fraction >= 1.0 or elapsed_s <= 0:
        return ""
    left = elapsed_s * (1.0 - fraction) / fraction
    if left >= 90:
        return f", about {left / 60:.0f} min left"
    return f", about {max(left, 1):.0f} s left"
