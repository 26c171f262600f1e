"""Plan page: ask for a plan (target, budget, proposer/model) against the policy in force, follow
the job live (stage and fraction from the job API), then see the proposed changes on the map and
in a table with cost and rationale, the optimiser's rounds, and what was rejected and why."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from ui import maps, plan_view, verdict, whatif_editor
from ui.client import ApiClientError
from ui.session import PageContext, attempt, context, pick_network, show_error


def ask_box(ctx: PageContext, net: dict[str, Any]) -> None:
    """A request in plain words: parsed by the API into an intent that fills the form below
    (target, budget, most actions, horizon, small cells), which the planner checks before
    "Run plan". Defaults and unmatched items are shown; nothing runs here."""
    with st.expander("Ask in plain words (English, Italiano, Deutsch)"):
        text = st.text_area("Request", key="plan_ask_text", max_chars=2000,
                            placeholder="relieve cell S01-1 on Sunday evening, no new masts, "
                            "under 40k")
        parser = st.radio("Parser", ["baseline", "llm"], horizontal=True, key="plan_ask_parser",
                          help="baseline: regular expressions; llm: the embedded model under "
                          "a grammar of this network's ids, merged with the baseline")
        if not st.button("Fill the form", disabled=not ctx.can("planner")):
            return
        ans = attempt(lambda: ctx.client.parse_intent(net["id"], text, parser),
                      "request not understood")
        if not ans:
            return
        it = ans["intent"]
        st.session_state.pop("plan_intent", None)
        for u in ans["unmatched"]:
            st.warning(f"not matched ({u['field']}): {u['text']!r}: {u['reason']}")
        rows = [{"field": k, "value": str(it[k]), "from": it["source"].get(k, "")}
                for k in it["source"]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        req = ans.get("plan_request")
        if not req:
            st.info("The form is unchanged: name only ids and sites this network has.")
            return
        # the slider moves in steps of 0.05 within 0.30-0.95
        st.session_state["plan_target"] = min(0.95, max(0.30, round(req["target"] * 20) / 20))
        st.session_state["plan_budget"] = float(req["budget_eur"])
        st.session_state["plan_max_actions"] = max(1, int(req["max_actions"]))
        st.session_state["plan_horizon"] = req["horizon"]
        st.session_state["plan_small_cells"] = bool(req["small_cells"])
        st.session_state["plan_intent"] = {"network_id": net["id"], "intent": it}
        st.success("The form below is filled from the request; check it, then Run plan: the "
                   "plan carries the whole intent (hours, area, kinds, protected cells and "
                   "sites) with the form's target, budget, most actions and horizon.")


def intent_request(intent: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The body of ``POST /networks/{id}/plans`` for a parsed ``intent`` (the ``intent`` of
    ``POST /networks/{id}/intents``) after the planner checked the form: the form's target,
    budget and most actions go into the intent, and its horizon too where it says otherwise
    (busy hour <-> all day; a window stays a window: the form shows it as "all 24 hours").
    The API refuses keys beside an intent that disagree with it, so only the solver's keys
    and ``small_cells`` stay outside."""
    it = {**intent, "source": dict(intent.get("source", {}))}
    for key in ("target", "budget_eur", "max_actions"):
        if it.get(key) != form[key]:
            it[key] = form[key]
            it["source"][key] = "sentence"  # the planner set it: not the default any more
    hours = dict(it.get("hours") or {"kind": "busy_hour"})
    if form["horizon"] == "busy" and hours.get("kind") != "busy_hour":
        hours.update(kind="busy_hour", start_hour=None, end_hour=None)
    elif form["horizon"] == "day" and hours.get("kind") == "busy_hour":
        hours["kind"] = "all_day"
    if hours != it.get("hours"):
        it["hours"] = hours
        it["source"]["hours"] = "sentence"
    body = {k: v for k, v in form.items() if k not in ("target", "budget_eur", "max_actions",
                                                       "horizon")}
    return {**body, "intent": it}


def plan_form(ctx: PageContext, net: dict[str, Any]) -> dict[str, Any] | None:
    """The request form; returns the parameters when the user pressed Run."""
    pol = attempt(ctx.client.policy, "loading the policy") or {}
    offered = attempt(ctx.client.models, "listing the LLM models") or []
    models = ["systematic"] + [m["id"] for m in offered if m.get("usable")]
    with st.form("plan_form"):
        c = st.columns(4)
        target = c[0].slider("Target peak PRB utilisation", 0.30, 0.95, 0.50, 0.05,
                             key="plan_target")
        budget = c[1].number_input("Budget (EUR)", min_value=0.0, max_value=1e7,
                                   value=100_000.0, step=10_000.0, key="plan_budget")
        max_actions = c[2].number_input("Most actions", 1, 50, 10, key="plan_max_actions")
        horizon = c[3].selectbox("Horizon", ["busy", "day"], key="plan_horizon",
                                 format_func=lambda h: {"busy": "busy hour",
                                                        "day": "all 24 hours"}[h])
        c2 = st.columns([2, 1, 1, 2])
        model = c2[0].selectbox(
            "Proposer / model", models, key="plan_model", format_func=model_label,
            help="the LLM models the server offers (GET /models): the embedded one and the "
                 "GGUF files in its model directory")
        small = c2[1].checkbox("Propose new small cells", value=True, key="plan_small_cells")
        rounds = c2[2].number_input("Select-verify rounds", 1, 10, 5, key="plan_rounds",
                                    help="at most; the loop stops when the twin confirms")
        c2[3].markdown(f"**Policy set in force:** {_policy_label(pol)}  \n"
                       "(edit it on the Policies page)")
        asked = st.session_state.get("plan_intent")
        if asked and asked.get("network_id") == net["id"]:
            st.caption("Run plan sends the intent parsed from "
                       f"{str(asked['intent'].get('text', ''))[:200]!r} with this form's "
                       "values (ask again to change it).")
        pressed = st.form_submit_button("Run plan", type="primary",
                                        disabled=not ctx.can("planner"))
    if not pressed:
        return None
    params: dict[str, Any] = {"target": float(target), "budget_eur": float(budget),
                              "max_actions": int(max_actions), "horizon": horizon,
                              "small_cells": bool(small), "max_iterations": int(rounds)}
    if model != "systematic":
        params.update(proposer="llm", llm_model=model)
    asked = st.session_state.get("plan_intent")
    if asked and asked.get("network_id") == net["id"]:
        return intent_request(asked["intent"], params)
    return params


def model_label(model: str) -> str:
    return {"systematic": "systematic generator (no LLM)",
            "embedded": "LLM: embedded model (offline)"}.get(model, f"LLM: {model}")


def _policy_label(pol: dict[str, Any]) -> str:
    if not pol:
        return "unknown"
    v = pol.get("version")
    name = pol.get("name") or ("shipped default" if v is None else f"version {v}")
    files = pol.get("files") or {}
    return f"{name} ({len(files)} rule files)"


def run_plan(ctx: PageContext, net: dict[str, Any], params: dict[str, Any]) -> None:
    created = attempt(lambda: ctx.client.create_plan(net["id"], params), "plan not started")
    if not created:
        return
    pid = created["id"]
    st.session_state["plan_id"] = pid
    bar = st.progress(0.0, text="queued")
    cancel_note = st.empty()
    cancel_note.caption(f"plan {pid}: running on the server; leaving the page does not stop it")

    started = time.monotonic()

    def update(job: dict[str, Any]) -> None:
        frac = min(max(float(job.get("progress") or 0.0), 0.0), 1.0)
        bar.progress(frac, text=f"{_stage(job)} ({frac * 100:.0f} %"
                     f"{plan_view.time_left(time.monotonic() - started, frac)})")

    try:
        job = ctx.client.wait_plan(pid, update)
    except ApiClientError as exc:
        show_error(exc, "following the plan")
        return
    cancel_note.empty()
    bar.progress(1.0, text=_stage(job))


def _stage(job: dict[str, Any]) -> str:
    """``status: stage`` without repeating the status when the stage starts with it."""
    status, stage = str(job.get("status", "")), str(job.get("stage", ""))
    return stage if stage.startswith(status) else f"{status}: {stage}"


def show_result(ctx: PageContext, net: dict[str, Any], job: dict[str, Any]) -> None:
    res = job.get("result") or {}
    current = job.get("policy_current") or {}
    passed = current.get("passed", job.get("policy_passed"))  # the policy in force
    st.subheader(f"Plan {job['id'][:8]}")
    v = verdict.show(job)
    # a denied or failed plan's improvements are not shown in success colours
    good, bad = ("off", "off") if v.level == "error" else ("inverse", "normal")
    if res.get("target_met") is False and res.get("frontier"):
        st.caption("What other budgets buy is below (each verified by the twin).")
    st.markdown(f"{res.get('message', '')}  \n"
                f"**{'verified' if res.get('verified') else 'NOT verified'}** by the twin after "
                f"{res.get('iterations')} round(s), {res.get('what_ifs')} what-ifs; policy "
                f"gate: **{ {True: 'passed', False: 'DENIED', None: 'not checked'}[passed] }**"
                + (" (the policy in force, re-evaluated: the plan was checked under another "
                   "policy version)" if current.get("stale") else ""))
    c = st.columns(4)
    pb, pa = res.get("peak_before"), res.get("peak_after")
    if pb is not None and pa is not None:
        c[0].metric("Peak PRB utilisation", f"{pa:.3f}", f"{pa - pb:+.3f}", delta_color=good,
                    help=f"before {pb:.3f}")
    for col, (key, label) in zip(c[1:3], (("jain_index", "Jain index"),
                                         ("n_overloaded", "Overloaded cells")), strict=True):
        b, a = (res.get("before") or {}).get(key), (res.get("after") or {}).get(key)
        if b is not None and a is not None:
            col.metric(label, f"{a:.3f}" if isinstance(a, float) else a,
                       f"{a - b:+.3f}" if isinstance(a, float) else f"{a - b:+d}",
                       delta_color=good if key == "n_overloaded" else bad)
    c[3].metric("Total cost (EUR)", f"{res.get('total_cost', 0):,.0f}",
                help=f"budget {res.get('budget', 0):,.0f}")
    before = attempt(lambda: ctx.client.state_geojson(net["id"]), "loading the map")
    if before is not None:
        after = plan_view.after_geo(before, res)
        m = maps.network_map(after, None, ctx.settings.tile_url, ctx.settings.tile_attribution,
                             changed=plan_view.changed_cells(res),
                             new_cells=plan_view.new_cell_points(before, res), heat=False)
        maps.show(m, key=f"plan_map_{job['id']}")
        st.markdown(maps.legend_html(), unsafe_allow_html=True)
    report = attempt(lambda: ctx.client.plan_report(job["id"]), "the plan report")
    if report is not None:
        st.download_button("Plan report (HTML, printable): verdict, maps, work order, cost",
                           report.content, file_name=report.filename, mime="text/html",
                           key=f"report_{job['id']}")
    st.markdown("#### Proposed actions (work order)")
    st.dataframe(pd.DataFrame(plan_view.action_rows(res)), hide_index=True,
                 width="stretch",
                 column_config={"cost_eur": st.column_config.NumberColumn(format="%.0f"),
                                "rationale": st.column_config.TextColumn(width="large")})
    st.markdown("#### What the optimiser chose, round by round")
    st.dataframe(pd.DataFrame(plan_view.round_rows(res)), hide_index=True,
                 width="stretch")
    lb = (res.get("lower_bound") or {}).get("peak_prb_util")
    if lb is not None:
        st.caption(f"lower bound on the peak (LP relaxation of the model): {lb:.3f}")
    dropped = plan_view.dropped_rows(res)
    if dropped:
        st.markdown("#### Chosen by the optimiser but dropped after verification")
        st.dataframe(pd.DataFrame(dropped), hide_index=True, width="stretch")
    frontier = plan_view.frontier_rows(res)
    if frontier:
        st.markdown("#### What other budgets buy (each verified by the twin)")
        st.dataframe(pd.DataFrame(frontier), hide_index=True, width="stretch")
    st.markdown("#### Rejected proposals and why")
    rej = plan_view.rejected_rows(res)
    if rej:
        st.dataframe(pd.DataFrame(rej), hide_index=True, width="stretch")
    else:
        st.caption("nothing was rejected")
    pol = res.get("policy") or {}
    with st.expander(f"Policy verdict: {len(pol.get('violations') or [])} violation(s), "
                     f"{len(pol.get('warnings') or [])} warning(s)"):
        for v in pol.get("violations") or []:
            st.error(plan_view._violation_text(v))
        for w in pol.get("warnings") or []:
            st.warning(plan_view._violation_text(w))
        rows = (pol.get("detail") or {}).get("results") or []
        if rows:
            st.dataframe(pd.DataFrame(rows)[[c for c in ("id", "severity", "passed", "summary",
                                                         "file") if c in rows[0]]],
                         hide_index=True, width="stretch")
    whatif_editor.show(ctx, net, job)


def latest_plan_id(ctx: PageContext, network_id: str) -> str | None:
    """The plan to show: this session's, the link's (``?plan=``), else the network's newest
    (a new tab has no session: the result comes from the API, not from memory)."""
    for pid in (st.session_state.get("plan_id"), st.query_params.get("plan")):
        if pid:
            return str(pid)
    plans = attempt(lambda: ctx.client.plans(network_id), "listing plans") or []
    return str(plans[0]["id"]) if plans else None


def main() -> None:
    ctx = context()
    st.title("Plan")
    net = pick_network(ctx)
    if net is None:
        st.info("No network yet: add one on the Network page.")
        return
    st.caption(f"Network **{net['name']}**: {net['n_cells']} cells, {net['n_candidates']} "
               "candidate small-cell locations. The LLM (if chosen) proposes, the optimiser "
               "chooses with the twin's numbers, the twin verifies, the policy gate decides.")
    ask_box(ctx, net)
    params = plan_form(ctx, net)
    if params is not None:
        run_plan(ctx, net, params)
    pid = latest_plan_id(ctx, net["id"])
    if not pid:
        return
    st.query_params["plan"] = pid  # a link or a new tab opens the same plan
    job = attempt(lambda: ctx.client.plan(pid), "loading the plan")
    if not job or job.get("network_id") != net["id"]:
        return
    if job.get("status") in ("queued", "running"):
        st.progress(float(job.get("progress") or 0.0), text=_stage(job))
        c = st.columns(2)
        if c[0].button("Refresh"):
            st.rerun()
        if c[1].button("Cancel plan", disabled=not ctx.can("planner")):
            attempt(lambda: ctx.client.cancel_plan(pid), "cancel")
            st.rerun()
        return
    if job.get("status") == "done":
        show_result(ctx, net, job)
    else:
        st.warning(f"plan {pid[:8]} {job.get('status')}: {job.get('error') or job.get('stage')}")


main()
