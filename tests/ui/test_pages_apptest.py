"""Every page of the UI with ``streamlit.testing.v1.AppTest`` against the live API (a real
``celltwin serve`` on loopback with its own SQLite database; see conftest.py). What a page
shows is compared with what the API answers when asked directly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import TOKENS, Server
from ui.client import ApiClient
from ui.settings import APP_PATH

SITES_CSV = b"site_id,x_m,y_m\nA,0,0\nB,400,0\n"
CELLS_HEADER = "cell_id,site_id,azimuth_deg,tx_power_dbm,fc_ghz,bandwidth_mhz,n_prb,height_m\n"


def cells_csv(azimuth_a2: float) -> bytes:
    return (CELLS_HEADER + "A-1,A,0,46,1.8,20,100,25\n"
            f"A-2,A,{azimuth_a2:g},46,1.8,20,100,25\nB-1,B,120,46,1.8,20,100,25\n").encode()


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch, live_api: Server):
    """``open_page(page, role, **session_state)``: the app on that page, run once."""
    monkeypatch.setenv("CELLTWIN_API_URL", live_api.url)
    monkeypatch.setenv("CELLTWIN_UI_POLL_S", "0.3")
    monkeypatch.delenv("CELLTWIN_TILE_URL", raising=False)

    def open_(page: str = "network", role: str = "admin", **state: Any) -> AppTest:
        monkeypatch.setenv("CELLTWIN_TOKEN", TOKENS[role])
        at = AppTest.from_file(str(APP_PATH), default_timeout=60)
        for k, v in state.items():
            at.session_state[k] = v
        at.run()
        if page != "network":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        return at
    return open_


def button(at: AppTest, label: str) -> Any:
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def n_maps(at: AppTest) -> int:
    """st_folium components (AppTest does not render custom components: UnknownElement)."""
    return sum(1 for e in at.get("component_instance") if "folium" in str(e.proto))


def test_network_page_shows_the_api_state_kpis_map_and_sorted_table(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    at = open_page(network_id=hotspot["id"])
    state = api.state(hotspot["id"])
    busy = state["hour"]
    assert at.slider(key="hour").value == busy
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Peak PRB utilisation"] == f"{state['kpis']['peak_prb_util']:.3f}"
    assert metrics["Jain index of loads"] == f"{state['kpis']['jain_index']:.3f}"
    assert metrics["Cells above 0.80"] == str(state["kpis"]["n_overloaded"])
    table = at.dataframe[0].value
    assert len(table) == hotspot["n_cells"] == 57
    assert table["prb_util"].is_monotonic_decreasing
    assert table.iloc[0]["cell_id"] == state["kpis"]["busiest_cell"]
    assert n_maps(at) == 1
    assert not at.error

    at.slider(key="hour").set_value(3).run()
    night = api.state(hotspot["id"], 3)
    assert night["kpis"]["peak_prb_util"] < state["kpis"]["peak_prb_util"]
    assert {m.label: m.value for m in at.metric}["Peak PRB utilisation"] == \
        f"{night['kpis']['peak_prb_util']:.3f}"


def test_network_page_creates_a_network_from_a_scenario(open_page: Any, api: ApiClient,
                                                        hotspot: dict[str, Any]) -> None:
    at = open_page(network_id=hotspot["id"])
    at.selectbox[1].set_value("hotspot")  # [0] is the sidebar's network picker
    at.text_input[0].set_value("hotspot from the UI")
    button(at, "Create network").click().run()
    assert not at.exception and not at.error
    made = [n for n in api.networks() if n["name"] == "hotspot from the UI"]
    assert len(made) == 1 and made[0]["n_cells"] == 57
    assert at.session_state["network_id"] == made[0]["id"]


def test_network_upload_shows_the_api_validation_message_then_imports(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    at = open_page(network_id=hotspot["id"])
    n_before = len(api.networks())
    at.file_uploader(key="up_network").set_value(("sites.csv", SITES_CSV, "text/csv"))
    at.file_uploader(key="up_cells").set_value(("cells.csv", cells_csv(400), "text/csv"))
    at.text_input(key="up_name").set_value("two sites")
    button(at, "Upload and validate").click().run()
    errors = " ".join(e.value for e in at.error)
    # the API's own words: table, row, cell id, column and the bound
    assert ("cells, line 3 of 'cells.csv' (form field 'cells') (cell_id='A-2'), column "
            "'azimuth_deg'") in errors
    assert "below 360" in errors
    assert len(api.networks()) == n_before  # nothing half-loaded

    at.file_uploader(key="up_cells").set_value(("cells.csv", cells_csv(120), "text/csv"))
    button(at, "Upload and validate").click().run()
    assert not at.error, [e.value for e in at.error]
    assert any("2 sites, 3 cells" in s.value for s in at.success)
    assert [n["name"] for n in api.networks()].count("two sites") == 1


def test_network_upload_shows_what_the_import_merged(open_page: Any, api: ApiClient,
                                                     hotspot: dict[str, Any]) -> None:
    at = open_page(network_id=hotspot["id"])
    ocid = (b"lon,lat,mcc,net,cell\n11.5000,48.1000,262,1,26226000\n"
            b"11.5030,48.1010,262,1,26226001\n11.5004,48.1002,262,1,26226000\n")
    at.file_uploader(key="up_network").set_value(("ocid.csv", ocid, "text/csv"))
    at.text_input(key="up_name").set_value("merged")
    button(at, "Upload and validate").click().run()
    assert not at.error, [e.value for e in at.error]
    warned = " ".join(w.value for w in at.warning)
    assert "Import warnings" in warned and "merged 1 duplicate rows" in warned
    row = next(n for n in api.networks() if n["name"] == "merged")
    assert all(w in warned for w in row["warnings"])


def test_plan_page_runs_a_plan_with_live_progress_and_explains_it(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    viewer = open_page("plan", role="viewer", network_id=hotspot["id"])
    assert button(viewer, "Run plan").disabled  # a viewer cannot start plans

    at = open_page("plan", network_id=hotspot["id"])
    # the proposer/model choice is what the API offers (GET /models), usable ones only
    offered = [m["id"] for m in api.models() if m["usable"]]
    options = at.selectbox(key="plan_model").options
    assert options[:2] == ["systematic generator (no LLM)", "LLM: embedded model (offline)"]
    assert len(options) == 1 + len(offered) and offered[0] == "embedded"
    at.number_input(key="plan_rounds").set_value(1)
    button(at, "Run plan").click().run(timeout=300)
    assert not at.exception
    pid = at.session_state["plan_id"]
    job = api.plan(pid)
    assert job["status"] == "done" and job["params"]["max_iterations"] == 1
    res = job["result"]
    # the progress bar was driven by the job API and ended at the job's final stage
    assert at.get("progress")
    metrics = {m.label: m for m in at.metric}
    assert metrics["Peak PRB utilisation"].value == f"{res['peak_after']:.3f}"
    assert res["peak_after"] < res["peak_before"]
    actions = at.dataframe[0].value
    assert len(actions) == len(res["actions"]) > 0
    assert list(actions["cost_eur"]) == [a["cost"] for a in res["actions"]]
    assert actions["rationale"].str.len().min() > 10  # every action says why
    assert set(actions["proposed_by"]) == {"systematic"}  # no LLM asked for
    rounds = at.dataframe[1].value
    assert len(rounds) == len(res["history"]) == 1
    assert rounds.iloc[0]["verified_peak"] == pytest.approx(res["history"][0]["verified_peak"])
    assert n_maps(at) == 1
    assert any("Rejected proposals" in m.value for m in at.markdown)


def test_compare_page_shows_deltas_charts_exports_and_approves(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any],
        done_plan: dict[str, Any]) -> None:
    res = done_plan["result"]
    viewer = open_page("compare", role="viewer", network_id=hotspot["id"],
                       plan_id=done_plan["id"])
    assert not [b for b in viewer.button if b.label == "Approve plan"]
    assert any("cannot approve" in c.value for c in viewer.caption)

    at = open_page("compare", network_id=hotspot["id"], plan_id=done_plan["id"])
    metrics = {m.label: m for m in at.metric}
    peak = metrics["Peak PRB utilisation"]
    assert peak.value == f"{res['after']['peak_prb_util']:.3f}"
    assert float(peak.delta) == pytest.approx(
        res["after"]["peak_prb_util"] - res["before"]["peak_prb_util"], abs=1e-3)
    assert n_maps(at) == 2  # before and after, side by side
    charts = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(charts) == 2  # per-cell bars before/after, and the CDF of cell loads
    assert "xOffset" in charts[0] and "step-after" in charts[1]
    downloads = at.get("download_button")
    assert len(downloads) == 2  # GeoJSON, CSV; the A1 policy only once approved
    assert any("after approval" in c.value for c in at.caption)
    assert any(f"**Before** — peak {res['peak_before']:.3f}" in m.value for m in at.markdown)
    assert any(f"**After** — peak {res['peak_after']:.3f}" in m.value for m in at.markdown)

    assert done_plan["policy_passed"] is True
    at.text_input(key="approve_comment").set_value("ok from the UI test")
    button(at, "Approve plan").click().run()
    assert not at.exception
    job = api.plan(done_plan["id"])
    assert job["approved"] is True
    assert job["approvals"][-1]["comment"] == "ok from the UI test"
    assert job["approvals"][-1]["approver"] == "admin"
    at.run()
    assert len(at.get("download_button")) == 3


def test_policies_page_validates_tests_and_refuses_a_broken_policy(
        open_page: Any, api: ApiClient, live_api: Server) -> None:
    at = open_page("policies")
    policy = api.policy()
    name = at.selectbox(key="policy_file").value
    assert at.text_area(key=f"policy_text_{name}").value == policy["files"][name]

    button(at, "Run the policy case tests").click().run()
    report = api.test_policy()
    assert report["ok"] and report["n_cases"] > 10
    assert any(f"{report['n_cases']} of {report['n_cases']} policy cases" in s.value
               for s in at.success)

    at.text_area(key=f"policy_text_{name}").set_value("rules:\n  - id: [unclosed\n").run()
    button(at, "Validate").click().run()
    errors = [e.value for e in at.error]
    assert errors and all(e.startswith(f"{name}:") for e in errors), errors

    button(at, "Save as the policy in force").click().run()
    assert any("policy not replaced" in e.value for e in at.error)
    assert api.policy()["policy_hash"] == policy["policy_hash"]  # the old one stays

    planner = open_page("policies", role="planner")
    assert button(planner, "Save as the policy in force").disabled


def test_audit_page_lists_plans_with_provenance(open_page: Any, api: ApiClient,
                                                done_plan: dict[str, Any]) -> None:
    at = open_page("audit", plan_id=done_plan["id"])
    history = at.dataframe[0].value
    assert done_plan["id"] in set(history["plan"])
    row = history[history["plan"] == done_plan["id"]].iloc[0]
    assert row["status"] == "done" and row["network"] == "hotspot"
    assert at.selectbox(key="audit_plan").value == done_plan["id"]
    shown = json.loads(at.json[0].value)
    assert shown == api.plan_audit(done_plan["id"])["provenance"]
    assert shown  # model/seed/versions recorded


def test_switching_network_resets_the_hour_and_others_networks_are_not_preselected(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    other = api.create_network("calib-umi", name="umi for the hour test")
    busy_other = api.state(other["id"])["hour"]
    at = open_page(network_id=hotspot["id"])
    at.slider(key="hour").set_value((busy_other + 5) % 24).run()
    at.selectbox(key="network_pick").set_value(other["id"]).run()
    assert not at.exception
    assert at.slider(key="hour").value == busy_other
    assert {m.label: m.value for m in at.metric}["Peak PRB utilisation"] == \
        f"{api.state(other['id'])['kpis']['peak_prb_util']:.3f}"
    # a first visit by a user who made no network preselects none of the others'
    fresh = open_page(role="viewer")
    assert fresh.selectbox(key="network_pick").value is None
    assert any("No network selected" in i.value for i in fresh.info)
    assert not fresh.metric


def test_plan_page_verdict_first_from_the_api_and_a_what_if_edit(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any],
        done_plan: dict[str, Any]) -> None:
    # a new tab (no session): the page takes the plan from the API, verdict first
    at = open_page("plan", network_id=hotspot["id"])
    assert not at.exception
    shown = at.query_params["plan"]
    newest = api.plans(hotspot["id"])[0]["id"]
    assert shown == [newest] or shown == newest
    boxes = [*at.success, *at.warning, *at.error]
    assert any("Target met" in b.value or "Target NOT met" in b.value for b in boxes)
    # the what-if editor: verify the plan's own actions minus all but the first
    at = open_page("plan", network_id=hotspot["id"], plan_id=done_plan["id"])
    assert any(b.label.startswith("Plan report") for b in at.get("download_button"))
    button(at, "Verify the edit with the twin").click().run(timeout=120)
    assert not at.exception
    out = at.session_state[f"whatif_result_{done_plan['id']}"]
    again = api.verify_plan(done_plan["id"], [
        {k: v for k, v in a.items() if k in ("kind", "cell_id", "candidate_id", "elec_tilt_deg",
                                             "azimuth_deg", "tx_power_dbm", "cio_db",
                                             "mimo_layers")}
        for a in done_plan["result"]["actions"]])
    assert out["peak_after"] == pytest.approx(again["peak_after"])
    assert sum("Target met" in b.value or "Target NOT met" in b.value
               for b in [*at.success, *at.warning, *at.error]) >= 2


def test_network_upload_with_a_traffic_map_says_what_the_map_placed(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any]) -> None:
    at = open_page(network_id=hotspot["id"])
    at.file_uploader(key="up_network").set_value(("sites.csv", SITES_CSV, "text/csv"))
    at.file_uploader(key="up_cells").set_value(("cells.csv", cells_csv(120), "text/csv"))
    crowd = "x_m,y_m,weight\n" + "".join(f"{200 + i % 5},{100 + i % 7},1\n" for i in range(40))
    at.file_uploader(key="up_traffic").set_value(("crowd.csv", crowd.encode(), "text/csv"))
    at.text_input(key="up_name").set_value("two sites with a crowd")
    button(at, "Upload and validate").click().run()
    assert not at.error, [e.value for e in at.error]
    assert any("traffic map crowd.csv: 40 samples" in s.value for s in at.success), \
        [s.value for s in at.success] + [w.value for w in at.warning]
    row = next(n for n in api.networks() if n["name"] == "two sites with a crowd")
    assert row["summary"]["import"]["traffic"]["n_points"] == 40


def test_compare_page_draws_a_radio_layer_before_and_after(
        open_page: Any, api: ApiClient, hotspot: dict[str, Any],
        done_plan: dict[str, Any]) -> None:
    at = open_page("compare", network_id=hotspot["id"], plan_id=done_plan["id"])
    at.radio(key="cmp_radio_layer").set_value("SINR (dB)").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert n_maps(at) == 2
    legend = " ".join(m.value for m in at.markdown)
    assert "SINR at" in legend and "dB" in legend
