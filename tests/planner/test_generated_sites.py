"""Small-cell candidates generated at the traffic peaks of overloaded cells that no listed
location covers: placement, distance from sites, forbidden zones, and the plan (generator,
LLM grammar space, work order, re-verification of the stored result) seeing them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import policies
from actions.apply import apply_actions
from actions.models import parse_actions
from planner.executors import SerialExecutor
from planner.generated_sites import (
    MIN_SITE_DISTANCE_M,
    generate_sites,
    network_for_result,
    weighted_kmeans,
    with_candidates,
)
from planner.llm.closed_loop import LLMCandidateProposer
from planner.loop import PlannerSettings, plan_network
from planner.verify import verify
from policies.plan import ROW_EXTRAS
from twin.engine import Twin
from twin.schema import validate
from twin.tables import CANDIDATES

from .conftest import HOTSPOT_XY_M, PlanCase

#: a policy that allows only new small cells (the planner must use generated sites)
ONLY_SMALL_CELLS = """
description: test policy
rules:
  - id: small-cells-only
    kind: allowed_actions
    severity: deny
    action_kinds: [add_small_cell]
    message: only new small cells in this test
"""

def _no_candidates(case: PlanCase) -> PlanCase:
    empty = validate(case.network.candidates.iloc[0:0], CANDIDATES)
    return replace(case, network=replace(case.network, candidates=empty))


def test_weighted_kmeans_finds_two_blobs():
    rng = np.random.default_rng(3)
    a = rng.normal((0.0, 0.0), 10.0, (200, 2))
    b = rng.normal((300.0, 100.0), 10.0, (200, 2))
    xy = np.vstack([a, b])
    w = np.concatenate([np.full(200, 1.0), np.full(200, 3.0)])
    c, m = weighted_kmeans(xy, w, 2)
    order = np.argsort(c[:, 0])
    assert np.allclose(c[order[0]], a.mean(axis=0), atol=1e-6)
    assert np.allclose(c[order[1]], (b * 3).sum(axis=0) / 600.0, atol=1e-6)
    assert m[order].tolist() == pytest.approx([200.0, 600.0])


def test_sites_go_to_the_hotspot_away_from_masts(case: PlanCase):
    bare = _no_candidates(case)
    tw = bare.twin()
    st = tw.run()
    gen = generate_sites(tw, st, ["S01-1"])
    assert 1 <= len(gen) <= 2
    assert all(n.startswith("generated") for n in gen["name"])
    assert all(c.startswith("G-S01-1-") for c in gen["candidate_id"])
    # the heaviest cluster sits on the hotspot (the Gaussian of conftest, 60 m wide)
    top = gen.iloc[0]
    assert np.hypot(top["x_m"] - HOTSPOT_XY_M[0], top["y_m"] - HOTSPOT_XY_M[1]) < 60.0
    sites = bare.network.sites[["x_m", "y_m"]].to_numpy()
    pts = gen[["x_m", "y_m"]].to_numpy()
    d = np.hypot(sites[:, None, 0] - pts[None, :, 0], sites[:, None, 1] - pts[None, :, 1])
    assert d.min() >= MIN_SITE_DISTANCE_M - 1e-6
    # a listed candidate inside the cell's footprint means nothing is generated for it
    assert generate_sites(case.twin(), case.twin().run(), ["S01-1"]).empty


def test_no_generated_site_in_a_forbidden_zone(case: PlanCase):
    bare = _no_candidates(case)
    tw = bare.twin()
    st = tw.run()
    free = generate_sites(tw, st, ["S01-1"])
    x, y = float(free.iloc[0]["x_m"]), float(free.iloc[0]["y_m"])
    zone = f"""
description: test zone
rules:
  - id: no-sites-at-the-square
    kind: forbidden_zone
    severity: deny
    crs: local_m
    message: not here
    zones:
      type: Polygon
      coordinates: [[[{x - 30}, {y - 30}], [{x + 30}, {y - 30}], [{x + 30}, {y + 30}],
                     [{x - 30}, {y + 30}], [{x - 30}, {y - 30}]]]
"""
    policy = policies.policy_from_texts({"zone.yaml": zone})
    gen = generate_sites(tw, st, ["S01-1"], policy)
    assert free.iloc[0]["candidate_id"] not in set(gen["candidate_id"])
    for rec in gen.itertuples():
        assert not (abs(rec.x_m - x) <= 30 and abs(rec.y_m - y) <= 30)


def test_plan_without_a_candidate_list_proposes_generated_small_cells(case: PlanCase):
    policy = policies.policy_from_texts({"t.yaml": ONLY_SMALL_CELLS})
    bare = _no_candidates(case)
    plan = plan_network(bare.twin(), bare.catalogue,
                        PlannerSettings(lp_dir=None, max_iterations=2), SerialExecutor(),
                        policy=policy)
    j = plan.to_json()
    gen = j["candidates"]["generated"]
    assert gen and all(g["generated"] and g["name"].startswith("generated") for g in gen)
    assert j["candidates"]["by_kind"]["add_small_cell"] == 6 * len(gen)
    assert j["actions"] and j["peak_after"] < j["peak_before"] - 0.2
    for row in j["actions"]:
        assert row["kind"] == "add_small_cell"
        assert row["work_order"]["generated"] is True
        assert row["candidate_id"].startswith("G-")
        assert "site still to be acquired" in row["description"]
    # the stored result carries what it needs to be re-verified on the stored network
    net = network_for_result(bare.network, j)
    assert {g["candidate_id"] for g in gen} <= set(net.candidates["candidate_id"])
    acts = parse_actions([{k: v for k, v in r.items() if k not in ROW_EXTRAS}
                          for r in j["actions"]])
    ver = verify(Twin(net, bare.demand, bare.config), acts, (bare.demand.busy_hour,))
    assert ver.peak == pytest.approx(j["peak_after"], abs=1e-4)
    apply_actions(net, acts)  # no unknown candidate


def test_the_llm_grammar_space_offers_generated_locations(case: PlanCase):
    bare = _no_candidates(case)
    tw = bare.twin()
    st = tw.run()
    net = with_candidates(bare.network, generate_sites(tw, st, ["S01-1"]))
    space = LLMCandidateProposer(None, bare.catalogue, None).space_for(net, st)  # type: ignore[arg-type]
    assert space.candidates and all(c.startswith("G-") for c in space.candidates)


def test_a_stored_plan_with_generated_sites_can_be_regated_and_edited(case: PlanCase):
    from api.network_store import LoadedNetwork
    from api.planning import gate, verify_edit
    from twin.scenarios import Scenario

    policy = policies.policy_from_texts({"t.yaml": ONLY_SMALL_CELLS})
    bare = _no_candidates(case)
    result = plan_network(bare.twin(), bare.catalogue,
                          PlannerSettings(lp_dir=None, max_iterations=2), SerialExecutor(),
                          policy=policy).to_json()
    assert result["actions"] and result["policy"]["passed"] is True
    # the API's stored network has no candidates: the result says where they were
    loaded = LoadedNetwork("n1", "h", Scenario("plan7", "test", bare.network, bare.demand,
                                               bare.config), bare.twin())
    assert gate(loaded, result, policy, [])["passed"] is True
    edited = verify_edit(loaded, result, result["actions"], policy)
    assert edited["peak_after"] == pytest.approx(result["peak_after"], abs=1e-4)
    assert edited["policy"]["passed"] is True
