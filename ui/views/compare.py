"""Compare page: the reference study's figure as a feature. Utilisation before and after a
plan on side-by-side maps with the same colour scale and view, per-cell bars, the CDF of cell
loads, KPI deltas; export (GeoJSON, CSV, A1) and approval when the token allows."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ui import maps, plan_view, verdict
from ui.charts import MAX_BARS, bar_cells, util_axis
from ui.session import PageContext, attempt, context, pick_network, pick_plan

EXPORTS = (("geojson", "GeoJSON", "application/geo+json"), ("csv", "CSV", "text/csv"),
           ("a1", "A1 policy (JSON)", "application/json"))


def side_by_side(ctx: PageContext, net: dict[str, Any], job: dict[str, Any]) -> None:
    res = job["result"]
    before = attempt(lambda: ctx.client.state_geojson(net["id"]), "loading the map")
    if before is None:
        return
    after = plan_view.after_geo(before, res)
    bounds = maps.bounds_of(before)
    label = st.radio("Radio layer (before and after, same scale)", list(maps.RADIO_LAYERS),
                     horizontal=True, key="cmp_radio_layer")
    layer = maps.RADIO_LAYERS[label]
    radio_before = radio_after = None
    if layer != "none":
        radio_before = attempt(lambda: ctx.client.raster(net["id"], layer), "the radio map")
        radio_after = attempt(lambda: ctx.client.plan_raster(job["id"], layer),
                              "the radio map after the plan")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Before** — peak {res.get('peak_before', float('nan')):.3f}")
        maps.show(maps.network_map(before, None, ctx.settings.tile_url,
                                   ctx.settings.tile_attribution, heat=False, candidates=False,
                                   bounds=bounds, radio=radio_before),
                  key=f"cmp_before_{job['id']}_{layer}", height=440)
    with right:
        st.markdown(f"**After** — peak {res.get('peak_after', float('nan')):.3f}")
        maps.show(maps.network_map(after, None, ctx.settings.tile_url,
                                   ctx.settings.tile_attribution, heat=False, candidates=False,
                                   changed=plan_view.changed_cells(res),
                                   new_cells=plan_view.new_cell_points(before, res),
                                   bounds=bounds, radio=radio_after),
                  key=f"cmp_after_{job['id']}_{layer}", height=440)
    st.markdown(maps.legend_html(), unsafe_allow_html=True)
    st.markdown(maps.raster_legend_html(radio_before), unsafe_allow_html=True)


def kpi_deltas(res: dict[str, Any], muted: bool = False) -> None:
    rows = plan_view.kpi_deltas(res)
    if not rows:
        return
    for col, r in zip(st.columns(len(rows)), rows, strict=True):
        fmt = "{:.0f}" if r["kpi"] == "n_overloaded" else "{:.3f}"
        col.metric(r["label"], fmt.format(r["after"]), fmt.replace("{:", "{:+").format(r["delta"]),
                   delta_color="off" if muted else "inverse" if r["lower_is_better"]
                   else "normal",
                   help=f"before {fmt.format(r['before'])}")


def charts(res: dict[str, Any]) -> None:
    pairs = pd.DataFrame(plan_view.util_pairs(res))
    if pairs.empty:
        return
    domain = util_axis(pairs["before"], pairs["after"])
    shown = bar_cells(pairs, plan_view.changed_cells(res))
    order = shown.sort_values("before", ascending=False, na_position="last")["cell_id"].tolist()
    long = shown.melt("cell_id", ["before", "after"], "when", "prb_util").dropna()
    bars = alt.Chart(long).mark_bar().encode(
        x=alt.X("cell_id:N", sort=order, title="cell (sorted by utilisation before)"),
        xOffset=alt.XOffset("when:N", sort=["before", "after"]),
        y=alt.Y("prb_util:Q", title="PRB utilisation", scale=alt.Scale(domain=domain)),
        color=alt.Color("when:N", sort=["before", "after"],
                        scale=alt.Scale(range=["#b0b0b0", "#2040c0"])),
        tooltip=["cell_id", "when", alt.Tooltip("prb_util:Q", format=".3f")],
    ).properties(height=260)
    target = alt.Chart(pd.DataFrame({"y": [res.get("target", 0.5)]})).mark_rule(
        color="#a50026", strokeDash=[4, 4]).encode(y="y:Q")
    st.markdown("**Per-cell PRB utilisation, before and after**" + (
        f" ({len(shown)} of {len(pairs)} cells: the {MAX_BARS} busiest before and after, and "
        "every changed one)" if len(shown) < len(pairs) else ""))
    st.altair_chart(bars + target, width="stretch")
    frames = []
    for when in ("before", "after"):
        x, y = plan_view.cdf(pairs[when].tolist())
        frames.append(pd.DataFrame({"prb_util": x, "fraction of cells": y, "when": when}))
    cdf = alt.Chart(pd.concat(frames)).mark_line(interpolate="step-after").encode(
        x=alt.X("prb_util:Q", title="PRB utilisation", scale=alt.Scale(domain=domain)),
        y=alt.Y("fraction of cells:Q", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("when:N", sort=["before", "after"],
                        scale=alt.Scale(range=["#b0b0b0", "#2040c0"])),
    ).properties(height=240)
    st.markdown("**Distribution (CDF) of cell loads**")
    st.altair_chart(cdf, width="stretch")


def export_and_approve(ctx: PageContext, job: dict[str, Any]) -> None:
    st.markdown("#### Export")
    cols = st.columns(len(EXPORTS))
    for col, (fmt, label, _media) in zip(cols, EXPORTS, strict=True):
        if fmt == "a1" and not job.get("approved"):  # the API refuses it (409)
            col.caption("A1 policy: after approval")
            continue
        dl = attempt(lambda f=fmt: ctx.client.export_plan(job["id"], f), f"export {label}")
        if dl is not None:
            col.download_button(f"Download {label}", dl.content, file_name=dl.filename,
                                mime=dl.media_type, key=f"dl_{fmt}")
    st.markdown("#### Approval")
    for a in job.get("approvals") or []:
        text = (f"approved by {a['approver']} ({a['role']}) at {a['approved_at']}: "
                f"{a.get('comment') or ''}")
        if a.get("stale"):
            st.warning(f"{text} (under another policy version: it no longer counts)")
        else:
            st.success(text)
    if not ctx.can("approver"):
        st.caption(f"Your token's role ({ctx.user.get('role') or 'unknown'}) cannot approve; "
                   "an approver or admin token can.")
        return
    current = job.get("policy_current") or {}
    denied = current.get("status") == "denied"
    if denied:
        st.warning("The policy in force denies this plan ("
                   + ", ".join(current.get("violations") or []) + "): it cannot be approved.")
    with st.form("approve"):
        comment = st.text_input("Comment", key="approve_comment")
        if st.form_submit_button("Approve plan", disabled=denied):
            out = attempt(lambda: ctx.client.approve_plan(job["id"], comment,
                                                          job.get("revision")), "approval")
            if out:
                st.success("plan approved")
                st.rerun()


def main() -> None:
    ctx = context()
    st.title("Compare before / after")
    net = pick_network(ctx)
    if net is None:
        st.info("No network yet: add one on the Network page.")
        return
    meta = pick_plan(ctx, net["id"])
    if meta is None:
        st.info("No finished plan for this network yet: run one on the Plan page.")
        return
    job = attempt(lambda: ctx.client.plan(meta["id"]), "loading the plan")
    if not job or not job.get("result"):
        return
    v = verdict.show(job)
    kpi_deltas(job["result"], muted=v.level == "error")
    side_by_side(ctx, net, job)
    charts(job["result"])
    export_and_approve(ctx, job)


main()
