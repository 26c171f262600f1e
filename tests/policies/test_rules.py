"""Each rule kind on its own: a plan that passes and one that is denied, through
``check_plan`` (the gate) and ``action_violations`` (per action), with numbers computed here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions.models import AddSmallCell, SetPower, SetTilt, SplitSector
from policies import PolicySet
from tests.policies.conftest import one_rule
from twin.geo import Origin
from twin.network import Network

Plan = Callable[..., dict[str, Any]]

SMALL = {"kind": "add_small_cell", "candidate_id": "C01", "tx_power_dbm": 30}  # EUR 31,000
SPLIT = {"kind": "split_sector", "cell_id": "S05-3"}                            # EUR 33,000
TILT = {"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8}            # EUR 100


def verdict(policy: PolicySet, plan: dict[str, Any], network: Network) -> tuple[bool, str]:
    v = policy.check_plan(plan, network)
    r = next(r for r in v.results if r.rule_id == "r")
    assert v.passed == r.passed  # only one rule: the verdict is its verdict
    return r.passed, r.summary


def test_budget_total(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: budget, severity: deny, message: m, max_eur: 64000}\n")
    assert verdict(p, make_plan([SMALL, SPLIT]), hotspot)[0]            # 64,000 <= cap
    ok, summary = verdict(p, make_plan([SMALL, SPLIT, TILT]), hotspot)  # 64,100
    assert not ok and "64,100" in summary


def test_budget_per_site_counts_a_new_small_cell_as_its_own_site(hotspot: Network,
                                                                  make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: budget, severity: deny, message: m, scope: per_site, "
                 "max_eur: 40000}\n")
    assert verdict(p, make_plan([SMALL, SPLIT, TILT]), hotspot)[0]
    two_on_s05 = [SPLIT, {"kind": "upgrade_mimo", "cell_id": "S05-1", "mimo_layers": 4}]
    ok, summary = verdict(p, make_plan(two_on_s05), hotspot)  # 33,000 + 7,200 on S05
    assert not ok and "S05" in summary and "40,200" in summary


def test_budget_of_the_plan(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: budget, severity: deny, message: m, scope: plan}\n")
    assert verdict(p, make_plan([SMALL], budget=31000), hotspot)[0]
    assert not verdict(p, make_plan([SMALL], budget=30999), hotspot)[0]
    assert verdict(p, make_plan([SMALL], budget=None), hotspot)[0]  # no budget stated


@pytest.mark.parametrize(("rule", "actions", "ok"), [
    ("max_count: 2", [SMALL, SPLIT], True),
    ("max_count: 2", [SMALL, SPLIT, TILT], False),
    ("max_count: 1, action_kinds: [add_small_cell]", [SMALL, SPLIT, TILT], True),
    ("max_count: 1, action_kinds: [add_small_cell]",
     [SMALL, {**SMALL, "candidate_id": "C02"}], False),
    ("max_count: 1, per: site", [SMALL, SPLIT, TILT], True),
    ("max_count: 1, per: site", [TILT, {**TILT, "cell_id": "S01-2"}], False),
])
def test_max_actions(hotspot: Network, make_plan: Plan, rule: str, actions: list[Any],
                     ok: bool) -> None:
    p = one_rule(f"  - {{id: r, kind: max_actions, severity: deny, message: m, {rule}}}\n")
    assert verdict(p, make_plan(actions), hotspot)[0] is ok


def test_parameter_bounds_range_and_step(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: parameter_bounds, severity: deny, message: m, "
                 "action_kind: set_tilt, parameter: elec_tilt_deg, min: 2, max: 10, step: 0.5}\n")
    for tilt, ok in ((2, True), (10, True), (7.5, True), (7.3, False), (1.5, False),
                     (10.5, False)):
        assert verdict(p, make_plan([{**TILT, "elec_tilt_deg": tilt}]), hotspot)[0] is ok, tilt
        assert (not p.action_violations(SetTilt(cell_id="S01-1", elec_tilt_deg=tilt),
                                         hotspot)) is ok


def test_allowed_actions(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: allowed_actions, severity: deny, message: m, "
                 "action_kinds: [set_tilt, add_small_cell]}\n")
    assert verdict(p, make_plan([SMALL, TILT]), hotspot)[0]
    ok, summary = verdict(p, make_plan([SMALL, SPLIT]), hotspot)
    assert not ok and "split_sector is not an allowed" in summary


def test_forbidden_zone_in_local_metres(hotspot: Network, make_plan: Plan) -> None:
    # C03 is at (150, 90), C01 at (75, 130): a box around C03 only.
    p = one_rule("  - id: r\n    kind: forbidden_zone\n    severity: deny\n    message: m\n"
                 "    zones: {type: Polygon, coordinates: [[[140, 80], [160, 80], [160, 100], "
                 "[140, 100]]]}\n")
    assert verdict(p, make_plan([SMALL]), hotspot)[0]
    ok, summary = verdict(p, make_plan([{**SMALL, "candidate_id": "C03"}]), hotspot)
    assert not ok and "C03" in summary
    assert p.bounds(hotspot).forbidden_candidates == {"C03"}


def test_forbidden_zone_in_wgs84_needs_a_geographic_origin(hotspot: Network,
                                                           make_plan: Plan) -> None:
    origin = Origin(45.4642, 9.19)  # Milan, Piazza del Duomo
    lat, lon = origin.to_wgs84(150.0, 90.0)  # candidate C03
    d = 1e-4  # ~11 m in latitude, ~8 m in longitude
    ring = [[float(lon) - d, float(lat) - d], [float(lon) + d, float(lat) - d],
            [float(lon) + d, float(lat) + d], [float(lon) - d, float(lat) + d]]
    p = one_rule("  - id: r\n    kind: forbidden_zone\n    severity: deny\n    message: m\n"
                 f"    crs: wgs84\n    zones: {{type: Polygon, coordinates: [{ring}]}}\n")
    geo = Network.from_tables(hotspot.sites.drop(columns=["lat_deg", "lon_deg"]), hotspot.cells,
                              hotspot.candidates.drop(columns=["lat_deg", "lon_deg"]),
                              origin=origin, name="hotspot")
    assert p.bounds(geo).forbidden_candidates == {"C03"}
    assert verdict(p, make_plan([SMALL]), geo)[0]
    assert not verdict(p, make_plan([{**SMALL, "candidate_id": "C03"}]), geo)[0]
    # Without an origin the candidates cannot be placed: the rule fails closed.
    assert hotspot.origin is None
    ok, summary = verdict(p, make_plan([SMALL]), hotspot)
    assert not ok and "cannot be placed" in summary
    assert p.bounds(hotspot).forbidden_candidates == set(hotspot.candidates["candidate_id"])


def test_emf_power_cap(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: emf_cap, severity: deny, message: m, max_tx_power_dbm: 43}\n")
    assert verdict(p, make_plan([{"kind": "set_power", "cell_id": "S01-1",
                                  "tx_power_dbm": 43}]), hotspot)[0]
    assert not verdict(p, make_plan([{"kind": "set_power", "cell_id": "S01-1",
                                      "tx_power_dbm": 44}]), hotspot)[0]
    assert p.bounds(hotspot).max_power_dbm_by_cell["S02-3"] == 43


def test_emf_eirp_cap_in_a_zone(hotspot: Network, make_plan: Plan) -> None:
    # Zone around site S05 (346.4, 200): 46 dBm + 17 dBi = 63 dBm EIRP there.
    p = one_rule("  - id: r\n    kind: emf_cap\n    severity: deny\n    message: m\n"
                 "    max_eirp_dbm: 64\n    zones: {type: Polygon, coordinates: "
                 "[[[300, 150], [400, 150], [400, 250], [300, 250]]]}\n")
    assert verdict(p, make_plan([{"kind": "set_power", "cell_id": "S05-1",
                                  "tx_power_dbm": 47}]), hotspot)[0]     # EIRP 64
    assert not verdict(p, make_plan([{"kind": "set_power", "cell_id": "S05-1",
                                      "tx_power_dbm": 48}]), hotspot)[0]  # EIRP 65
    ok, summary = verdict(p, make_plan([SPLIT]), hotspot)   # 46 + 17 + 3 = 66 > 64
    assert not ok and "EIRP 66" in summary
    assert verdict(p, make_plan([{**SPLIT, "cell_id": "S01-1"}]), hotspot)[0]  # outside
    b = p.bounds(hotspot)
    assert b.max_power_dbm_by_cell == {"S05-1": 47, "S05-2": 47, "S05-3": 47}
    assert b.denied_targets["split_sector"] == {"S05-1", "S05-2", "S05-3"}
    assert b.power_range("set_power", "S05-2").max_value == 47
    assert b.power_range("set_power", "S01-1").max_value == float("inf")


def test_protected_cells_and_sites(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: protected_cells, severity: deny, message: m, "
                 "cell_ids: [S01-1], site_ids: [S05, S99]}\n")
    assert verdict(p, make_plan([{**TILT, "cell_id": "S01-2"}, SMALL]), hotspot)[0]
    assert not verdict(p, make_plan([TILT]), hotspot)[0]
    assert not verdict(p, make_plan([SPLIT]), hotspot)[0]  # S05-3 is on site S05
    assert p.bounds(hotspot).protected_cells == {"S01-1", "S05-1", "S05-2", "S05-3"}
    assert p.action_violations(SplitSector(cell_id="S05-1"), hotspot)[0].rule_id == "r"


def test_max_load(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: max_load, severity: deny, message: m, max_prb_util: 0.7}\n")
    assert verdict(p, make_plan([TILT]), hotspot)[0]
    # The KPI says 0.6 but one cell is above: the per-cell results count too.
    cells = [{"cell_id": "S01-1", "prb_util": 0.6}, {"cell_id": "S05-3", "prb_util": 0.71}]
    ok, summary = verdict(p, make_plan([TILT], cells_after=cells), hotspot)
    assert not ok and "S05-3" in summary
    assert not verdict(p, make_plan([TILT], after=None, cells_after=None), hotspot)[0]


def test_min_coverage(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: min_coverage, severity: deny, message: m, "
                 "min_coverage: 0.9, max_drop: 0.02}\n")
    def cov(before: float, after: float) -> bool:
        return verdict(p, make_plan([TILT], before={"coverage": before},
                                    after={"coverage": after}), hotspot)[0]
    assert cov(0.95, 0.93)
    assert not cov(0.95, 0.92)   # drop 0.03
    assert not cov(0.90, 0.89)   # below 0.9


def test_neighbour_harm(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: neighbour_harm, severity: deny, message: m, "
                 "max_util_increase: 0.1, max_p5_drop_fraction: 0.1}\n")
    before = [{"cell_id": "S05-3", "prb_util": 0.40, "p5_user_thr_mbps": 10.0},
              {"cell_id": "S06-2", "prb_util": 0.30, "p5_user_thr_mbps": None}]
    def harm(u: float, t: float | None) -> bool:
        after = [{"cell_id": "S05-3", "prb_util": u, "p5_user_thr_mbps": t},
                 {"cell_id": "S06-2", "prb_util": 0.3, "p5_user_thr_mbps": 1.0}]
        return verdict(p, make_plan([TILT], cells_before=before, cells_after=after), hotspot)[0]
    assert harm(0.50, 9.0)
    assert not harm(0.51, 9.0)
    assert not harm(0.45, 8.9)
    assert harm(0.45, None)      # unknown throughput is not judged
    # Split halves are compared with the sector they replace.
    split_after = [{"cell_id": "S05-3a", "prb_util": 0.2, "p5_user_thr_mbps": 8.5},
                   {"cell_id": "S05-3b", "prb_util": 0.2, "p5_user_thr_mbps": 9.5}]
    ok, summary = verdict(p, make_plan([SPLIT], cells_before=before, cells_after=split_after),
                          hotspot)
    assert not ok and "S05-3a" in summary


def test_approval_triggers(hotspot: Network, make_plan: Plan) -> None:
    lead = {"by": "A", "role": "lead", "at": "2026-01-01"}
    p = one_rule("  - {id: r, kind: approval, severity: deny, message: m, trigger: new_site, "
                 "roles: [lead]}\n")
    assert verdict(p, make_plan([TILT]), hotspot)[0]
    assert not verdict(p, make_plan([SMALL]), hotspot)[0]
    assert verdict(p, make_plan([SMALL], approvals=[lead]), hotspot)[0]
    assert not verdict(p, make_plan([SMALL], approvals=[{**lead, "role": "x"}]), hotspot)[0]
    two = one_rule("  - {id: r, kind: approval, severity: deny, message: m, "
                   "trigger: cost_above, min_cost_eur: 1000, min_approvers: 2}\n")
    assert verdict(two, make_plan([TILT]), hotspot)[0]
    assert not verdict(two, make_plan([SMALL], approvals=[lead, lead]), hotspot)[0]  # one person
    assert verdict(two, make_plan([SMALL], approvals=[lead, {**lead, "by": "B"}]), hotspot)[0]
    anyc = one_rule("  - {id: r, kind: approval, severity: deny, message: m, "
                    "trigger: any_change}\n")
    assert verdict(anyc, make_plan([]), hotspot)[0]
    assert not verdict(anyc, make_plan([TILT]), hotspot)[0]


def test_rules_scoped_to_other_networks_do_not_apply(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: protected_cells, severity: deny, message: m, "
                 "cell_ids: [S01-1], networks: [elsewhere]}\n")
    assert verdict(p, make_plan([TILT]), hotspot)[0]
    assert p.action_violations(SetTilt(cell_id="S01-1", elec_tilt_deg=8), hotspot) == []
    assert p.bounds(hotspot).protected_cells == frozenset()


def test_warn_rules_report_but_never_deny_or_narrow(hotspot: Network, make_plan: Plan) -> None:
    p = one_rule("  - {id: r, kind: emf_cap, severity: warn, message: m, max_tx_power_dbm: 40}\n")
    v = p.check_plan(make_plan([{"kind": "set_power", "cell_id": "S01-1",
                                 "tx_power_dbm": 44}]), hotspot)
    assert v.passed and [w.rule_id for w in v.warnings] == ["r"]
    assert p.bounds(hotspot).max_power_dbm_by_cell == {}
    viol = p.action_violations(SetPower(cell_id="S01-1", tx_power_dbm=44), hotspot)
    assert [x.severity for x in viol] == ["warn"]
    assert p.action_violations(AddSmallCell(candidate_id="C01"), hotspot) == []
