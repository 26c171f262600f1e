"""The UI's pure parts, without servers: the utilisation colour scale, the after-plan map
features, the rejected-proposal reasons, the CDF, the API error lines, and the heatmap's block
sums (traffic conserved)."""

from __future__ import annotations

import numpy as np
import pytest

from api.demand_map import block_sum
from twin.demand import Demand
from twin.grid import Grid
from ui import maps, plan_view
from ui.client import ApiClientError, role_at_least


def test_util_colour_is_one_fixed_scale() -> None:
    assert maps.util_colour(0.0) == "#1a9850"
    assert maps.util_colour(0.8) == "#f46d43"
    assert maps.util_colour(1.0) == "#a50026"
    assert maps.util_colour(1.7) == maps.util_colour(1.0)  # overload saturates, same colour
    assert maps.util_colour(None) == maps.util_colour(float("nan")) == "#9e9e9e"
    # halfway between green (0) and yellow (0.5), channel by channel
    mid = maps.util_colour(0.25)
    g, y = (0x1a, 0x98, 0x50), (0xfe, 0xe0, 0x8b)
    assert mid == "#" + "".join(f"{round((a + b) / 2):02x}" for a, b in zip(g, y, strict=True))


def _geo() -> dict:
    def cell(cid: str, u: float) -> dict:
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            [[9.0, 45.0], [9.001, 45.001], [9.002, 45.0], [9.0, 45.0]]]},
            "properties": {"feature_type": "cell", "cell_id": cid, "prb_util": u}}
    cand = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.005, 45.003]},
            "properties": {"feature_type": "candidate", "candidate_id": "C01", "name": "lamp"}}
    return {"type": "FeatureCollection", "features": [cell("A-1", 0.9), cell("A-2", 0.3), cand]}


RESULT = {
    "target": 0.5,
    "actions": [
        {"kind": "add_small_cell", "candidate_id": "C01", "targets": ["C01"], "cost": 31000.0,
         "description": "add a small cell at C01", "rationale": "hotspot next to A-1"},
        {"kind": "set_tilt", "cell_id": "A-1", "targets": ["A-1"], "cost": 100.0,
         "description": "set tilt", "rationale": "shrink A-1"}],
    "cells_before": [{"cell_id": "A-1", "prb_util": 0.9}, {"cell_id": "A-2", "prb_util": 0.3}],
    "cells_after": [{"cell_id": "A-1", "prb_util": 0.45}, {"cell_id": "A-2", "prb_util": 0.35},
                    {"cell_id": "SC-C01", "prb_util": 0.2}],
    "before": {"peak_prb_util": 0.9, "jain_index": 0.7, "n_overloaded": 1},
    "after": {"peak_prb_util": 0.45, "jain_index": 0.9, "n_overloaded": 0},
    "candidates": {"denied_by_policy": [
        {"candidate": "add_small_cell:C08", "violations": [
            {"rule": "zone-school-street", "message": "No new antenna site near the school"}]}],
        "notes": ["proposal dropped (set_tilt of Z-9): unknown cell 'Z-9'"]},
    "llm": {"rounds": [{"rejected": [{"proposal": {"kind": "set_power", "cell_id": "A-2",
                                                   "tx_power_dbm": 49},
                                      "reason": "power above 46 dBm"}]}]},
    "history": [{"iteration": 1, "chosen": ["set_tilt:A-1"], "verified_peak": 0.6,
                 "predicted_peak": 0.48, "accepted": False, "policy_passed": True},
                {"iteration": 2, "chosen": ["set_tilt:A-1", "add_small_cell:C01"],
                 "verified_peak": 0.45, "accepted": True}],
}


def test_after_map_takes_the_plan_utilisation_and_marks_changes() -> None:
    before = _geo()
    after = plan_view.after_geo(before, RESULT)
    cells = {f["properties"]["cell_id"]: f["properties"] for f in maps.features(after, "cell")}
    assert cells["A-1"]["prb_util"] == 0.45 and cells["A-1"]["prb_util_before"] == 0.9
    assert cells["A-2"]["prb_util"] == 0.35
    assert maps.features(before, "cell")[0]["properties"]["prb_util"] == 0.9  # not mutated
    assert plan_view.changed_cells(RESULT) == {"A-1"}
    (new,) = plan_view.new_cell_points(before, RESULT)
    assert new["geometry"]["coordinates"] == [9.005, 45.003]
    assert new["properties"]["cost"] == 31000.0 and new["properties"]["prb_util"] == 0.2
    m = maps.network_map(after, None, changed={"A-1"}, new_cells=[new])
    maps.check_offline(m)
    html = m.get_root().render()
    assert html.count(maps.CHANGED_COLOUR) >= 1 and maps.NEW_CELL_COLOUR in html


def test_rejected_proposals_carry_their_reasons() -> None:
    rows = plan_view.rejected_rows(RESULT)
    by_source = {r["source"]: r for r in rows}
    assert "zone-school-street: No new antenna site" in by_source["policy"]["reason"]
    assert by_source["validation"]["proposal"] == "set_tilt of Z-9"
    assert by_source["validation"]["reason"] == "unknown cell 'Z-9'"
    assert by_source["LLM"]["reason"] == "power above 46 dBm"
    assert "tx_power_dbm=49" in by_source["LLM"]["proposal"]
    r1 = by_source["optimiser round 1"]
    assert "verified peak 0.600 > target 0.50" in r1["reason"] and "0.480" in r1["reason"]
    assert "optimiser round 2" not in by_source  # the accepted round is no rejection


def test_kpi_deltas_pairs_and_cdf() -> None:
    d = {r["kpi"]: r for r in plan_view.kpi_deltas(RESULT)}
    assert d["peak_prb_util"]["delta"] == pytest.approx(-0.45)
    assert d["n_overloaded"]["lower_is_better"] and not d["jain_index"]["lower_is_better"]
    pairs = plan_view.util_pairs(RESULT)
    assert pairs[-1] == {"cell_id": "SC-C01", "before": None, "after": 0.2}
    x, y = plan_view.cdf([p["before"] for p in pairs])
    assert x.tolist() == [0.3, 0.9] and y.tolist() == [0.5, 1.0]


def test_api_error_lines_show_fields_and_policy_issues() -> None:
    e = ApiClientError(422, "invalid request", {"errors": [
        {"loc": ["body", "target"], "msg": "must be > 0"}], "issues": [
        {"file": "budget.yaml", "line": 7, "message": "unknown key 'maxx'"}]})
    assert e.lines() == ["invalid request", "target: must be > 0",
                         "budget.yaml:7: unknown key 'maxx'"]
    assert str(ApiClientError(0, "cannot reach")) == "cannot reach"
    assert role_at_least("approver", "planner") and not role_at_least("viewer", "planner")
    assert not role_at_least(None, "viewer")


def test_heatmap_blocks_conserve_traffic_and_weight_positions() -> None:
    g = Grid(-50.0, -30.0, 10.0, 11, 7)  # 77 bins, not a multiple of the block size
    rng = np.random.default_rng(1)
    mbps = rng.random((24, g.n_bin)) * (rng.random(g.n_bin) > 0.3)
    x, y, w, k = block_sum(Demand(g, mbps), 5, max_points=20)
    assert k == 2  # ceil(sqrt(77 / 20))
    assert w.sum() == pytest.approx(mbps[5].sum())
    # the traffic-weighted centre of all points is the grid's traffic-weighted centre
    bx, by = g.xy()
    assert np.average(x, weights=w) == pytest.approx(np.average(bx, weights=mbps[5]))
    assert np.average(y, weights=w) == pytest.approx(np.average(by, weights=mbps[5]))
    assert (w > 0).all()


def test_site_ids_are_drawn_only_while_they_do_not_hide_the_sectors() -> None:
    def sites(n: int) -> list[dict]:
        return [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [9.0 + i * 1e-3, 45.0]},
                 "properties": {"feature_type": "site", "site_id": f"S{i:03d}"}}
                for i in range(n)]
    for n, labelled in ((3, True), (maps.MAX_SITE_LABELS + 1, False)):
        m = maps.base_map([[44.99, 8.99], [45.01, 9.2]])
        maps.add_site_labels(m, sites(n), keep={"S007", "S010"})
        html = m.get_root().render()
        # a small network: every site; a city: only the kept ones (no box of black dots)
        assert html.count("L.divIcon(") == (n if labelled else 2)
        assert ("ct-label\\u0027\\u003eS001" in html) is labelled
        assert labelled or "ct-label\\u0027\\u003eS007" in html
        assert html.count("L.circleMarker(") == (n if labelled else 2)


def test_busiest_sites_and_city_scale_charts() -> None:
    import pandas as pd

    from ui.charts import bar_cells, util_axis

    cells = [{"properties": {"cell_id": f"S{i:03d}-1", "site_id": f"S{i:03d}",
                             "prb_util": i / 100.0}} for i in range(100)]
    keep = maps.busiest_sites(cells, n=3, changed={"S005-1"})
    assert keep == {"S099", "S098", "S097", "S005"}
    pairs = pd.DataFrame({"cell_id": [f"c{i}" for i in range(500)],
                          "before": np.linspace(0.0, 1.4, 500),
                          "after": np.linspace(0.0, 0.7, 500)[::-1]})
    shown = bar_cells(pairs, {"c3"}, n=10)
    assert set(shown["cell_id"]) == ({f"c{i}" for i in range(490, 500)}
                                     | {f"c{i}" for i in range(10)} | {"c3"})
    assert util_axis(pairs["before"], pairs["after"]) == [0.0, 1.4]
    assert util_axis(pairs["after"]) == [0.0, 1.0]
    small = pairs.head(8)
    assert bar_cells(small, set(), n=10) is small


def test_local_frame_maps_are_a_plain_plane_and_radio_layers_are_inline() -> None:
    m = maps.base_map([[-500.0, -400.0], [500.0, 400.0]], local=True)
    html = m.get_root().render()
    assert "L.CRS.Simple" in html and maps.LOCAL_FRAME_NOTE in html
    doc = {"layer": "sinr", "hour": 20, "bounds": [[-500.0, -400.0], [500.0, 400.0]],
           "png_base64": "iVBORw0KGgo=", "unit": "dB", "bin_m": 20.0,
           "scale": {"min": -10.0, "max": 30.0, "colours": ["#440154", "#fde725"]}}
    maps.add_raster(m, doc)
    html = m.get_root().render()
    assert "data:image/png;base64,iVBORw0KGgo=" in html
    maps.check_offline(m)  # an inline image is no remote request
    assert "30 dB" in maps.raster_legend_html(doc)
    geo = maps.base_map([[45.0, 9.0], [45.1, 9.1]]).get_root().render()
    assert "L.CRS.Simple" not in geo


def test_whatif_rows_keep_only_their_kinds_fields_and_allowed_kinds() -> None:
    import pandas as pd

    from ui.whatif_editor import action_table, rows_to_actions

    vocab = [{"kind": "set_tilt", "parameters": {"cell_id": {}, "elec_tilt_deg": {}}},
             {"kind": "add_small_cell", "parameters": {"candidate_id": {}, "tx_power_dbm": {},
                                                       "cio_db": {}}},
             {"kind": "upgrade_mimo", "parameters": {"cell_id": {}, "mimo_layers": {}}}]
    df = action_table([{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8.0},
                       {"kind": "upgrade_mimo", "cell_id": "S01-2", "mimo_layers": 4.0}])
    df = pd.concat([df, pd.DataFrame([{"kind": "add_small_cell", "candidate_id": "C01",
                                       "tx_power_dbm": 30.0, "elec_tilt_deg": 3.0},
                                      {"kind": None}])], ignore_index=True)
    acts, notes = rows_to_actions(df, vocab, {"set_tilt", "add_small_cell", "upgrade_mimo"})
    assert acts == [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8.0},
                    {"kind": "upgrade_mimo", "cell_id": "S01-2", "mimo_layers": 4},
                    {"kind": "add_small_cell", "candidate_id": "C01", "tx_power_dbm": 30.0}]
    assert isinstance(acts[1]["mimo_layers"], int) and notes == []
    only_sc, notes = rows_to_actions(df, vocab, {"add_small_cell"})
    assert [a["kind"] for a in only_sc] == ["add_small_cell"] and len(notes) == 2


def test_time_left_at_the_pace_so_far() -> None:
    assert plan_view.time_left(10.0, 0.02) == ""  # too early to tell
    assert plan_view.time_left(10.0, 0.5) == ", about 10 s left"
    assert plan_view.time_left(60.0, 0.25) == ", about 3 min left"
    assert plan_view.time_left(5.0, 1.0) == ""
