"""Network page: map of sectors by PRB utilisation with the demand heatmap, an hour slider,
KPI cards, the per-cell table, and adding a network (a scenario or your own tables)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ui import maps
from ui.session import PageContext, attempt, context, flash, pick_network, select_network

CELL_COLUMNS = ["cell_id", "site_id", "prb_util", "offered_mbps", "served_mbps",
                "unserved_mbps", "mean_sinr_db", "n_bins", "overloaded"]


def kpi_cards(kpis: dict[str, Any]) -> None:
    c = st.columns(5)
    c[0].metric("Peak PRB utilisation", f"{kpis.get('peak_prb_util', float('nan')):.3f}",
                help=f"busiest cell {kpis.get('busiest_cell', '?')}")
    c[1].metric("Mean PRB utilisation", f"{kpis.get('mean_prb_util', float('nan')):.3f}")
    c[2].metric("Jain index of loads", f"{kpis.get('jain_index', float('nan')):.3f}",
                help="1 = perfectly balanced cell loads")
    c[3].metric(f"Cells above {kpis.get('overload_threshold', 0.8):.2f}",
                int(kpis.get("n_overloaded", 0)))
    c[4].metric("Coverage", f"{kpis.get('coverage', float('nan')):.3f}",
                help="share of offered traffic above the SINR floor")


def add_network(ctx: PageContext, expanded: bool) -> None:
    with st.expander("Add a network", expanded=expanded):
        tab_sc, tab_up = st.tabs(["From a built-in scenario", "Upload your own tables"])
        with tab_sc:
            scs = attempt(ctx.client.scenarios, "listing scenarios") or []
            names = [s["name"] for s in scs]
            with st.form("create_from_scenario"):
                name = st.selectbox("Scenario", names, index=names.index("hotspot")
                                    if "hotspot" in names else 0,
                                    format_func=lambda n: f"{n}: " + next(
                                        s["description"] for s in scs if s["name"] == n))
                label = st.text_input("Name (optional)")
                if st.form_submit_button("Create network", disabled=not ctx.can("planner")):
                    row = attempt(lambda: ctx.client.create_network(name, label or None),
                                  "creating the network")
                    if row:
                        select_network(row["id"], f"network {row['name']} created "
                                       f"({row['n_cells']} cells)")
        with tab_up:
            upload_form(ctx)


def upload_form(ctx: PageContext) -> None:
    st.caption("A network JSON document, a sites table with a cells table, or an OpenCelliD "
               "cell list (CSV/Parquet); optional candidate small-cell locations and per-cell "
               "counters (TS 28.552 names) to calibrate the demand to. The API checks every "
               "table and says which row and column to fix.")
    with st.form("upload"):
        network = st.file_uploader("Network / sites table", type=["csv", "parquet", "json"],
                                   key="up_network")
        cells = st.file_uploader("Cells table (with a sites table)", type=["csv", "parquet"],
                                 key="up_cells")
        cands = st.file_uploader("Candidate locations (optional)", type=["csv", "parquet"],
                                 key="up_candidates")
        meas = st.file_uploader("Measurements (optional)", type=["csv", "parquet"],
                                key="up_measurements")
        traffic = st.file_uploader(
            "Traffic map (optional): where the traffic is", type=["csv", "parquet", "geojson",
                                                                  "json"],
            key="up_traffic", help="geolocated samples (lat_deg, lon_deg or x_m, y_m; weight, "
            "hour, mbps) or GeoJSON points and polygons (weight or mbps, hour); the counters "
            "still decide how much each cell carries")
        c = st.columns(3)
        name = c[0].text_input("Name", key="up_name")
        fmt = c[1].selectbox("Format", ["auto", "tables", "opencellid"], key="up_format")
        prior = c[2].selectbox("Demand prior", ["cell-density", "uniform"], key="up_prior")
        if st.form_submit_button("Upload and validate", disabled=not ctx.can("planner")):
            if network is None:
                st.error("choose the network (or sites) file first")
                return
            files = {"network": (network.name, network.getvalue())}
            for part, f in (("cells", cells), ("candidates", cands), ("measurements", meas),
                            ("traffic", traffic)):
                if f is not None:
                    files[part] = (f.name, f.getvalue())
            row = attempt(lambda: ctx.client.upload_network(
                files, {"name": name, "format": fmt, "prior": prior}), "upload rejected")
            if row:
                cal = (row.get("summary") or {}).get("calibration")
                fit = (f"; demand calibrated to the measurements: MAPE {cal['mape']:.1%}, "
                       f"{cal['n_matched']} of {cal['n_rows']} rows matched"
                       if cal and "mape" in cal else "")
                tm = ((row.get("summary") or {}).get("import") or {}).get("traffic")
                placed = (f"; traffic map {tm['source']}: {tm['n_points']} samples, "
                          f"{tm['n_areas']} areas" + "".join(f"; warning: {w}"
                                                             for w in tm["warnings"])
                          if tm else "")
                select_network(row["id"], f"network {row['name']} imported: {row['n_sites']} "
                               f"sites, {row['n_cells']} cells, {row['n_candidates']} "
                               f"candidates{fit}{placed}")


def cell_table(cells: list[dict[str, Any]]) -> None:
    df = pd.DataFrame(cells)
    cols = [c for c in CELL_COLUMNS if c in df.columns]
    df = df[cols].sort_values("prb_util", ascending=False) if "prb_util" in cols else df
    st.dataframe(df, hide_index=True, width="stretch", key="cell_table",
                 column_config={"prb_util": st.column_config.ProgressColumn(
                     "prb_util", min_value=0.0, max_value=1.0, format="%.3f")})


def main() -> None:
    ctx = context()
    st.title("Network")
    flash()
    net = pick_network(ctx)
    add_network(ctx, expanded=net is None)
    if net is None:
        st.info("No network selected: choose one in the sidebar, or add one above (from the "
                "hotspot scenario or your own files).")
        return
    warnings = net.get("warnings") or []
    if warnings:  # what the import merged or skipped stays in view, not only in the summary
        st.warning("Import warnings:\n" + "\n".join(f"- {w}" for w in warnings))
    busy = int((net.get("summary") or {}).get("busy_hour", 0))
    if st.session_state.get("hour_network") != net["id"]:
        # another network: start at its busy hour, not at the hour chosen for the last one
        st.session_state["hour"] = busy
        st.session_state["hour_network"] = net["id"]
    hour = st.slider("Hour of the day", 0, 23, busy, key="hour",
                     help=f"busy hour of this network: {busy}:00")
    geo = attempt(lambda: ctx.client.state_geojson(net["id"], hour), "loading the state")
    demand = attempt(lambda: ctx.client.demand(net["id"], hour), "loading the demand")
    if geo is None:
        return
    kpis = (geo.get("properties") or {}).get("kpis") or {}
    kpi_cards(kpis)
    for note in net.get("notes") or []:
        st.caption(f"note: {note}")
    if (geo.get("properties") or {}).get("synthetic_origin"):
        st.caption("This network has no geographic position (no lat/lon, no origin): it is "
                   "drawn in its local frame, x east and y north in metres; exports say so.")
    label = st.radio("Radio layer", list(maps.RADIO_LAYERS), horizontal=True, key="radio_layer",
                     help="per grid bin, at this hour: the serving cell, its RSRP, the SINR "
                     "at the hour's loads")
    layer = maps.RADIO_LAYERS[label]
    radio = (attempt(lambda: ctx.client.raster(net["id"], layer, hour), "loading the radio map")
             if layer != "none" else None)
    m = maps.network_map(geo, demand, ctx.settings.tile_url, ctx.settings.tile_attribution,
                         radio=radio)
    maps.show(m, key=f"net_map_{net['id']}_{hour}_{layer}")
    st.markdown(maps.legend_html(), unsafe_allow_html=True)
    st.markdown(maps.demand_legend_html(demand), unsafe_allow_html=True)
    st.markdown(maps.raster_legend_html(radio), unsafe_allow_html=True)
    st.subheader("Cells")
    cell_table([f["properties"] for f in maps.features(geo, "cell")])


main()
