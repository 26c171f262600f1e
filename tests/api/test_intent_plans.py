"""``POST /networks/{id}/plans`` with an intent: planned in full, as ``celltwin plan
--intent`` plans it (protected cells, forbidden kinds, windows, areas); a bad intent is 422
with a message and nothing is queued."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.main import main
from tests.api.conftest import auth, wait_plan

#: the quick plan's solver settings; the intent carries target, budget and most actions
SOLVER = {"max_iterations": 1, "max_neighbours": 0}


def n_plans(client: TestClient) -> int:
    return int(client.get("/api/v1/plans", headers=auth("viewer")).json()["count"])


def parse(client: TestClient, nid: str, text: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/networks/{nid}/intents", json={"text": text},
                    headers=auth("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["ready"], r.json()["unmatched"]
    return r.json()  # type: ignore[no-any-return]


def plan(client: TestClient, nid: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/api/v1/networks/{nid}/plans", json=body, headers=auth("planner"))
    assert r.status_code == 202, r.text
    done = wait_plan(client, r.json()["id"], timeout_s=300)
    assert done["status"] == "done", done
    return done


def touched(result: dict[str, Any]) -> set[str]:
    return {str(t) for a in result["actions"] for t in a["targets"]}


def test_protected_cells_and_forbidden_kinds_hold(client: TestClient, hotspot_id: str,
                                                  done_plan: dict[str, Any]) -> None:
    free = done_plan["result"]
    assert free["actions"], "the unrestricted plan changes nothing: the test would be empty"
    cells = sorted(c for c in touched(free) if "-" in c)
    kinds = sorted({a["kind"] for a in free["actions"]})
    ans = parse(client, hotspot_id, f"don't touch {' and '.join(cells)}, at most 2 changes")
    intent = {**ans["intent"], "forbidden_kinds": kinds[:1]}
    res = plan(client, hotspot_id, {"intent": intent, **SOLVER})["result"]
    assert not touched(res) & set(cells)
    assert all(a["kind"] != kinds[0] for a in res["actions"])
    assert len(res["actions"]) <= 2
    assert res["intent"]["protected_cells"] == cells
    assert res["intent"]["planning_options"]["allowed_kinds"] == [
        k for k in ans["intent"]["allowed_kinds"] if k != kinds[0]]
    # the request-scoped rules were part of the final gate
    rules = {str(r.get("rule_id") or r.get("id")) for r in
             res["policy"]["detail"].get("results", [])}
    assert {"intent.protected", "intent.allowed-kinds"} <= rules, rules


def test_a_window_and_a_document_are_planned_as_the_cli_plans_them(
        client: TestClient, hotspot_id: str, tmp_path: Path, capsys: Any) -> None:
    text = "relieve cell S01-1 between 18 and 22, only tilt and CIO, don't touch site S02, 30k"
    ans = parse(client, hotspot_id, text)
    done = plan(client, hotspot_id, {"intent_document": ans["document"], **SOLVER})
    res = done["result"]
    opts = res["intent"]["planning_options"]
    assert opts["hours"] == [18, 19, 20, 21] and opts["horizon"] == "day"
    assert opts["budget_eur"] == 30_000 and res["budget"] == 30_000
    assert opts["protected_cells"] == ["S02-1", "S02-2", "S02-3"]
    assert opts["scope_cells"] and "S01-1" in opts["scope_cells"]
    params = client.get(f"/api/v1/plans/{done['id']}/audit",
                        headers=auth("viewer")).json()["provenance"]["params"]
    assert params["hours"] == [18, 19, 20, 21] and "intent_document" not in params
    doc = tmp_path / "intent.json"
    doc.write_text(json.dumps(ans["document"]))
    rc = main(["plan", "--scenario", "hotspot", "--llm", "none", "--intent", str(doc), "--yes",
               "--json", "--max-iterations", "1", "--workers", "1", "--lp-dir",
               str(tmp_path / "lp")])
    cli = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert cli["intent"]["planning_options"] == opts
    assert [(a["kind"], a["targets"]) for a in cli["actions"]] == [
        (a["kind"], a["targets"]) for a in res["actions"]]
    for a in res["actions"]:
        assert a["kind"] in ("set_tilt", "set_cio")
        assert not any(str(t).startswith("S02-") for t in a["targets"])


def test_plain_requests_still_work_and_small_cells_false_forbids_them(
        client: TestClient, hotspot_id: str) -> None:
    ans = parse(client, hotspot_id, "relieve cell S01-1, at most 2 changes")
    res = plan(client, hotspot_id, {"intent": ans["intent"], "small_cells": False,
                                    **SOLVER})["result"]
    assert "add_small_cell" in res["intent"]["forbidden_kinds"]
    assert all(a["kind"] != "add_small_cell" for a in res["actions"])


def _intent(client: TestClient, nid: str) -> dict[str, Any]:
    return parse(client, nid, "relieve cell S01-1, 40k")["intent"]


@pytest.mark.parametrize(("change", "words"), [
    ({"protected_cells": ["S99-1"]}, "S99-1"),
    ({"area": {"kind": "sites", "site_ids": ["NOPE"]}}, "NOPE"),
    ({"unmatched": [{"field": "area", "text": "the airport", "reason": "no such site"}]},
     "the airport"),
    ({"forbidden_kinds": ["add_small_cell", "split_sector", "set_tilt", "set_azimuth",
                          "set_power", "set_cio", "upgrade_mimo"]}, "every action kind"),
    ({"allowed_kinds": ["teleport"]}, "teleport"),
    ({"target": -1}, "target"),
])
def test_bad_intents_are_422_and_nothing_is_queued(client: TestClient, hotspot_id: str,
                                                   change: dict[str, Any], words: str) -> None:
    before = n_plans(client)
    body = {"intent": {**_intent(client, hotspot_id), **change}, **SOLVER}
    r = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=body, headers=auth("planner"))
    assert r.status_code == 422, r.text
    assert words in r.text
    assert n_plans(client) == before


def test_nan_target_conflicts_and_two_intents_are_422(client: TestClient,
                                                      hotspot_id: str) -> None:
    before = n_plans(client)
    it = _intent(client, hotspot_id)
    url = f"/api/v1/networks/{hotspot_id}/plans"
    raw = json.dumps({"intent": {**it, "target": 0.5}}).replace('"target": 0.5', '"target": NaN')
    r = client.post(url, content=raw, headers={**auth("planner"),
                                               "content-type": "application/json"})
    assert r.status_code == 422, r.text
    r = client.post(url, json={"intent": it, "budget_eur": 90_000}, headers=auth("planner"))
    assert r.status_code == 422 and "disagrees with its intent on budget_eur" in r.text
    doc = parse(client, hotspot_id, "relieve cell S01-1, 40k")["document"]
    r = client.post(url, json={"intent": it, "intent_document": doc}, headers=auth("planner"))
    assert r.status_code == 422 and "not both" in r.text
    r = client.post(url, json={"intent_document": {"intent": {}}}, headers=auth("planner"))
    assert r.status_code == 422 and "intentExpectations" in r.text
    assert n_plans(client) == before
    # the same budget given twice agrees: accepted
    r = client.post(url, json={"intent": it, "budget_eur": 40_000, **SOLVER},
                    headers=auth("planner"))
    assert r.status_code == 202, r.text
    wait_plan(client, r.json()["id"], timeout_s=300)
