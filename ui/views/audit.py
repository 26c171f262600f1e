"""Audit page: every plan with who asked, when, the verdict and approvals, and for one plan
its provenance (model, prompt, seed, versions, policy hash) and recorded events."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui.session import attempt, context


def plan_rows(plans: list[dict[str, Any]], nets: dict[str, str]) -> pd.DataFrame:
    rows = [{"plan": p["id"], "network": nets.get(p["network_id"], p["network_id"][:8]),
             "status": p.get("status"), "stage": p.get("stage"),
             "created_by": p.get("created_by"), "created_at": p.get("created_at"),
             "finished_at": p.get("finished_at"),
             "policy_passed": p.get("policy_passed_current", p.get("policy_passed")),
             "policy_stale": (p.get("policy_current") or {}).get("stale"),
             "approved": p.get("approved"),
             "target": (p.get("params") or {}).get("target"),
             "budget_eur": (p.get("params") or {}).get("budget_eur"),
             "proposer": (p.get("params") or {}).get("proposer", "systematic")}
            for p in plans]
    return pd.DataFrame(rows)


def main() -> None:
    ctx = context()
    st.title("Audit")
    plans = attempt(ctx.client.plans, "listing plans") or []
    nets = {n["id"]: n["name"] for n in attempt(ctx.client.networks, "listing networks") or []}
    if not plans:
        st.info("No plans yet.")
        return
    st.markdown("#### Plan history")
    st.dataframe(plan_rows(plans, nets), hide_index=True, width="stretch")
    ids = [p["id"] for p in plans]
    cur = st.session_state.get("plan_id")
    pid = st.selectbox("Plan", ids, index=ids.index(cur) if cur in ids else 0,
                       key="audit_plan")
    rec = attempt(lambda: ctx.client.plan_audit(pid), "loading the audit record")
    if rec is None:
        return
    st.markdown("#### Provenance")
    st.json(rec.get("provenance") or {}, expanded=2)
    st.markdown("#### Approvals")
    if rec.get("approvals"):
        st.dataframe(pd.DataFrame(rec["approvals"]), hide_index=True, width="stretch")
    else:
        st.caption("not approved")
    st.markdown("#### Events of this plan")
    ev = pd.DataFrame(rec.get("events") or [])
    if not ev.empty:
        st.dataframe(ev, hide_index=True, width="stretch")
    with st.expander("Whole audit trail (newest first)"):
        trail = attempt(ctx.client.audit, "loading the audit trail") or []
        if trail:
            st.dataframe(pd.DataFrame(trail), hide_index=True, width="stretch")


main()
