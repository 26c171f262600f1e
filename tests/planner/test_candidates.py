"""The systematic candidate generator: which cells, which options, which sites, priced."""

from __future__ import annotations

import numpy as np

from actions.apply import apply_actions
from actions.models import AddSmallCell, SetCio, SetPower, SetTilt, SplitSector, UpgradeMimo
from actions.pricing import price
from planner.candidates import generate_candidates, hot_cells

from .conftest import HOTSPOT_XY_M, PlanCase


def _generate(case: PlanCase, target: float = 0.5):
    tw = case.twin()
    st = tw.run()
    return tw, st, *generate_candidates(tw, [st], target, case.catalogue)


def test_hot_cells_are_those_above_the_target(case: PlanCase):
    st = case.twin().run()
    util = st.util_by_cell()
    hot = hot_cells([st], 0.5)
    assert hot == sorted([c for c, u in util.items() if u > 0.5], key=lambda c: -util[c])
    assert hot[0] == "S01-1"
    assert hot_cells([st], 2.0) == []


def test_neighbours_face_the_hot_area(case: PlanCase):
    tw, _, _, focus = _generate(case)
    assert focus.hot == ("S01-1",)
    assert 1 <= len(focus.neighbours) <= 6
    assert "S01-1" not in focus.neighbours
    assert sum(focus.share.values()) <= 1.0 + 1e-9
    # The two largest takers are sectors of other sites pointing at the hotspot: within
    # 60 deg of their boresight and within one inter-site distance (computed here from the
    # layout, independently of the generator).
    rows = tw.network.cells_with_sites().set_index("cell_id")
    for cid in focus.neighbours[:2]:
        r = rows.loc[cid]
        dx, dy = HOTSPOT_XY_M[0] - r["x_m"], HOTSPOT_XY_M[1] - r["y_m"]
        bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
        off = abs((bearing - r["azimuth_deg"] + 180.0) % 360.0 - 180.0)
        assert r["site_id"] != "S01" and off < 60.0 and np.hypot(dx, dy) < 400.0, cid


def test_options_point_the_right_way_and_are_priced(case: PlanCase):
    tw, _, items, focus = _generate(case)
    base = tw.network.cells.set_index("cell_id")
    keys = [c.key for c in items]
    assert len(keys) == len(set(keys))
    kinds = {c.kind for c in items}
    assert kinds == {"set_tilt", "set_cio", "set_power", "set_azimuth", "split_sector",
                     "upgrade_mimo", "add_small_cell"}
    for c in items:
        a = c.action
        assert c.cost == price(a, tw.network, case.catalogue)
        apply_actions(tw.network, [a])  # each candidate applies on its own
        assert a.rationale
        if isinstance(a, AddSmallCell):
            continue
        assert a.cell_id in focus.cells
        hot = a.cell_id in focus.hot
        if isinstance(a, SetTilt) and hot:
            assert a.elec_tilt_deg > base.loc[a.cell_id, "elec_tilt_deg"]  # downtilt sheds
        if isinstance(a, SetCio):
            now = base.loc[a.cell_id, "cio_db"]
            assert (a.cio_db < now) if hot else (a.cio_db > now)
        if isinstance(a, SetPower):
            assert hot and a.tx_power_dbm < base.loc[a.cell_id, "tx_power_dbm"]
        if isinstance(a, UpgradeMimo):
            assert a.mimo_layers > base.loc[a.cell_id, "mimo_layers"]
    assert any(isinstance(c.action, SplitSector) and c.action.cell_id == "S01-1"
               for c in items)


def test_small_cells_only_in_the_hot_area(case: PlanCase):
    _, _, items, focus = _generate(case)
    sites = {c.action.candidate_id for c in items if isinstance(c.action, AddSmallCell)}
    assert sites == set(focus.sites)
    assert {"K1", "K2", "K3"} <= sites and "K4" not in sites  # K4 is 500 m away
    per_site = [c for c in items if isinstance(c.action, AddSmallCell)
                and c.action.candidate_id == "K1"]
    assert {(c.action.tx_power_dbm, c.action.cio_db) for c in per_site} == {
        (p, o) for p in (30.0, 37.0) for o in (0.0, 3.0, 6.0)}


def test_nothing_to_do_below_the_target(case: PlanCase):
    _, _, items, focus = _generate(case, target=1.5)
    assert items == [] and focus.hot == ()
