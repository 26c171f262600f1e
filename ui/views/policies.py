"""Policies page: the policy in force (YAML rule files), edited in place, validated by the API
with file and line for every problem, tested against the case files, saved as a new version
(admin)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui.session import PageContext, attempt, context

EDITS = "policy_edits"      # file name -> edited YAML (this session)
BASE = "policy_base_hash"   # hash of the version the edits started from


def _edits(pol: dict[str, Any]) -> dict[str, str]:
    if st.session_state.get(BASE) != pol.get("policy_hash") or EDITS not in st.session_state:
        st.session_state[EDITS] = dict(pol.get("files") or {})
        st.session_state[BASE] = pol.get("policy_hash")
    return st.session_state[EDITS]


def show_issues(issues: list[dict[str, Any]]) -> None:
    for i in issues:
        where = f"{i.get('file')}:{i.get('line')}" if i.get("line") else str(i.get("file"))
        st.error(f"{where}: {i.get('message')}")


def show_cases(report: dict[str, Any]) -> None:
    n, bad = report.get("n_cases", 0), report.get("n_failed", 0)
    (st.success if report.get("ok") else st.error)(
        f"{n - bad} of {n} policy cases behave as expected"
        + (f"; {bad} do not" if bad else ""))
    rows = pd.DataFrame(report.get("results") or [])
    if not rows.empty:
        st.dataframe(rows.sort_values("ok"), hide_index=True, width="stretch")
    if report.get("untested_deny_rules"):
        st.warning("deny rules no case exercises: " + ", ".join(report["untested_deny_rules"]))


def editor(ctx: PageContext, pol: dict[str, Any]) -> None:
    edits = _edits(pol)
    names = sorted(edits)
    if not names:
        st.info("the policy has no rule files")
        return
    name = st.selectbox("Rule file", names, key="policy_file")
    text = st.text_area(f"{name}", edits[name], height=420, key=f"policy_text_{name}")
    edits[name] = text
    changed = [n for n in names if edits[n] != (pol.get("files") or {}).get(n)]
    st.caption(("edited (not saved): " + ", ".join(changed)) if changed else "no edits")
    c = st.columns(4)
    if c[0].button("Validate", disabled=not ctx.can("planner"), key="policy_validate"):
        out = attempt(lambda: ctx.client.validate_policy(edits), "validation")
        if out is not None:
            if out.get("valid"):
                st.success(f"valid: {len(out.get('rules') or [])} rules, hash "
                           f"{str(out.get('policy_hash'))[:12]}")
            else:
                show_issues(out.get("issues") or [])
    if c[1].button("Run the policy case tests", key="policy_cases"):
        out = attempt(lambda: ctx.client.test_policy(edits), "policy case tests")
        if out is not None:
            show_cases(out)
    if c[2].button("Save as the policy in force", type="primary", key="policy_save",
                   disabled=not ctx.can("admin") or not changed):
        out = attempt(lambda: ctx.client.replace_policy(edits), "policy not replaced")
        if out is not None:
            st.session_state.pop(EDITS, None)
            st.success(f"policy version {out.get('version')} in force")
            st.rerun()
    if c[3].button("Discard edits", key="policy_discard", disabled=not changed):
        st.session_state.pop(EDITS, None)
        st.rerun()
    if not ctx.can("admin"):
        st.caption("Saving needs an admin token; validating and testing do not change anything.")


def main() -> None:
    ctx = context()
    st.title("Policies")
    pol = attempt(ctx.client.policy, "loading the policy")
    if pol is None:
        return
    v = pol.get("version")
    st.markdown(f"In force: **{'the shipped default' if v is None else f'version {v}'}**"
                + (f" by {pol['created_by']}" if pol.get("created_by") else "")
                + f", hash `{str(pol.get('policy_hash'))[:16]}`. Rules are data: each has an "
                "id, a severity (deny | warn), what it constrains and a message for planners.")
    rules = pd.DataFrame(pol.get("rules") or [])
    with st.expander(f"{len(rules)} rules in force", expanded=False):
        if not rules.empty:
            st.dataframe(rules, hide_index=True, width="stretch")
    editor(ctx, pol)


main()
