"""Interactive what-if on a finished plan: choose the action kinds allowed, add or remove
actions by hand, verify the edit with the twin and the policy in force
(``POST /plans/{id}/verify``), see its KPIs, map and verdict, and save it as the plan's next
revision. The vocabulary (kinds and parameters) comes from ``GET /actions``."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from ui import maps, plan_view, verdict
from ui.session import PageContext, attempt

#: editable columns: what identifies an action and its parameters (their bounds are the API's)
EDIT_COLUMNS = ("kind", "cell_id", "candidate_id", "elec_tilt_deg", "azimuth_deg",
                "tx_power_dbm", "cio_db", "mimo_layers")
INTEGER_PARAMS = ("mimo_layers",)


def action_table(actions: list[dict[str, Any]]) -> pd.DataFrame:
    """One editable row per action (only the columns :data:`EDIT_COLUMNS`)."""
    rows = [{c: a.get(c) for c in EDIT_COLUMNS} for a in actions]
    return pd.DataFrame(rows, columns=list(EDIT_COLUMNS))


def rows_to_actions(df: pd.DataFrame, vocabulary: list[dict[str, Any]],
                    allowed: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The edited rows as actions the API takes: each row keeps the fields its kind has,
    rows of a kind that is not allowed (or empty rows) are left out and said so."""
    params = {k["kind"]: set(k["parameters"]) for k in vocabulary}
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        kind = rec.get("kind")
        if not isinstance(kind, str) or not kind:
            continue
        if kind not in allowed:
            notes.append(f"row {i}: {kind} is not among the allowed kinds; left out")
            continue
        a: dict[str, Any] = {"kind": kind}
        for k in params.get(kind, set()):
            v = rec.get(k)
            if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
                continue
            a[k] = int(v) if k in INTEGER_PARAMS else v
        out.append(a)
    return out, notes


def show(ctx: PageContext, net: dict[str, Any], job: dict[str, Any]) -> None:
    """The editor under a finished plan (planner role to verify and save)."""
    res = job.get("result") or {}
    vocab = attempt(ctx.client.actions, "loading the action vocabulary") or []
    if not vocab:
        return
    kinds = [k["kind"] for k in vocab]
    st.markdown("#### What if: edit the plan and verify it with the twin")
    st.caption("Change values, add rows (e.g. one small cell at a candidate, no macro "
               "change) or delete rows; the twin and the policy in force judge the edit. "
               "Saving replaces the plan by the edit as its next revision (the previous "
               "actions stay in its history); an approved plan cannot be edited.")
    allowed = set(st.multiselect("Allowed action kinds", kinds, default=kinds,
                                 key=f"whatif_kinds_{job['id']}"))
    cells = sorted({str(c["cell_id"]) for c in res.get("cells_after") or [] if "cell_id" in c})
    edited = st.data_editor(
        action_table(res.get("actions") or []), num_rows="dynamic", hide_index=True,
        width="stretch", key=f"whatif_table_{job['id']}",
        column_config={"kind": st.column_config.SelectboxColumn(options=kinds, required=True),
                       "cell_id": st.column_config.SelectboxColumn(options=cells)})
    actions, notes = rows_to_actions(edited, vocab, allowed)
    for n in notes:
        st.caption(n)
    c = st.columns(2)
    can_edit = ctx.can("planner")
    verify = c[0].button("Verify the edit with the twin", disabled=not can_edit,
                         key=f"whatif_verify_{job['id']}")
    save = c[1].button("Save as the next revision", disabled=not can_edit or bool(
        job.get("approvals")), key=f"whatif_save_{job['id']}")
    key = f"whatif_result_{job['id']}"
    if verify or save:
        out = attempt(lambda: ctx.client.verify_plan(job["id"], actions, save=save),
                      "the edit was refused")
        if out is not None:
            st.session_state[key] = out
            if save and out.get("saved"):
                st.success("saved: the plan now holds this edit")
                st.rerun()
    out = st.session_state.get(key)
    if not out:
        return
    shown = {"id": job["id"], "approved": False, "policy_passed": out.get("passed"),
             "result": {**out, "target": out.get("target"), "policy": out.get("policy")}}
    verdict.show(shown)
    cols = st.columns(3)
    cols[0].metric("Peak PRB utilisation", f"{out['peak_after']:.3f}",
                   f"{out['peak_after'] - out['peak_before']:+.3f}", delta_color="inverse")
    cols[1].metric("Cost (EUR)", f"{out.get('total_cost', 0):,.0f}")
    cols[2].metric("Actions", len(out.get("actions") or []))
    before = attempt(lambda: ctx.client.state_geojson(net["id"]), "loading the map")
    if before is not None:
        m = maps.network_map(plan_view.after_geo(before, out), None, ctx.settings.tile_url,
                             ctx.settings.tile_attribution,
                             changed=plan_view.changed_cells(out),
                             new_cells=plan_view.new_cell_points(before, out), heat=False)
        maps.show(m, key=f"whatif_map_{job['id']}")
