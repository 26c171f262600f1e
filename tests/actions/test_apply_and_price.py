"""Actions: applying them (pure, ordered), pricing from the catalogue, conflicts."""

from __future__ import annotations

import pydantic
import pytest

from actions.apply import apply_actions
from actions.costs import load_costs
from actions.models import AddSmallCell, SetCio, SetTilt, SplitSector, UpgradeMimo, parse_actions
from actions.pricing import price
from actions.rows import action_to_json
from actions.sites import new_site_id
from twin.errors import UnknownIdError, ValidationError

from .conftest import PlanCase


def test_apply_is_pure_and_sets_parameters(case: PlanCase):
    net = case.network
    before = net.cells.copy()
    new = apply_actions(net, [SetTilt(cell_id="S01-1", elec_tilt_deg=9.0),
                              SetCio(cell_id="S05-3", cio_db=3.0)])
    assert net.cells.equals(before)  # the input network is untouched
    c = new.cells.set_index("cell_id")
    assert c.loc["S01-1", "elec_tilt_deg"] == 9.0
    assert c.loc["S05-3", "cio_db"] == 3.0
    assert c.loc["S01-2", "elec_tilt_deg"] == 6.0


def test_split_inherits_parameters_set_in_the_same_plan(case: PlanCase):
    new = apply_actions(case.network, [SplitSector(cell_id="S01-1"),
                                       UpgradeMimo(cell_id="S01-1", mimo_layers=4)])
    c = new.cells.set_index("cell_id")
    assert "S01-1" not in c.index
    # Boresights a quarter beamwidth (65/4 deg) either side of 30 deg, half the beamwidth,
    # +3 dB gain, and the MIMO upgrade applied before the split.
    assert c.loc["S01-1a", "azimuth_deg"] == pytest.approx(30.0 - 16.25)
    assert c.loc["S01-1b", "azimuth_deg"] == pytest.approx(30.0 + 16.25)
    assert c.loc["S01-1a", "h_beamwidth_deg"] == pytest.approx(32.5)
    assert c.loc["S01-1b", "antenna_gain_dbi"] == pytest.approx(20.0)
    assert int(c.loc["S01-1a", "mimo_layers"]) == 4
    assert len(new.cells) == len(case.network.cells) + 1


def test_small_cell_is_added_on_the_macro_carrier(case: PlanCase):
    new = apply_actions(case.network, [AddSmallCell(candidate_id="K1", tx_power_dbm=37.0,
                                                    cio_db=6.0)])
    c = new.cells.set_index("cell_id").loc["SC-K1-1"]
    assert (c["tx_power_dbm"], c["cio_db"], c["antenna"]) == (37.0, 6.0, "omni")
    assert (c["fc_ghz"], c["n_prb"]) == (1.8, 100)  # no extra spectrum
    assert new.sites.set_index("site_id").loc["SC-K1", "x_m"] == 90.0


def test_conflicts_and_bad_targets_are_refused(case: PlanCase):
    with pytest.raises(ValidationError, match="both change"):
        apply_actions(case.network, [SetTilt(cell_id="S01-1", elec_tilt_deg=8.0),
                                     SetTilt(cell_id="S01-1", elec_tilt_deg=10.0)])
    upgraded = apply_actions(case.network, [UpgradeMimo(cell_id="S01-1", mimo_layers=4)])
    with pytest.raises(ValidationError, match="not an upgrade"):
        apply_actions(upgraded, [UpgradeMimo(cell_id="S01-1", mimo_layers=4)])
    with pytest.raises(UnknownIdError):
        apply_actions(case.network, [SetCio(cell_id="X99-1", cio_db=3.0)])
    with pytest.raises(UnknownIdError):
        apply_actions(case.network, [AddSmallCell(candidate_id="nowhere")])
    with pytest.raises(pydantic.ValidationError):
        parse_actions([{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8,
                        "cost": 0}])  # nobody sets their own price


def test_price_reads_the_catalogue(case: PlanCase):
    net = case.network
    cat = load_costs()
    split = price(SplitSector(cell_id="S01-1"), net, cat)
    assert split.total_eur == 30000 + 3000 * cat.horizon_years
    mimo4 = price(UpgradeMimo(cell_id="S01-1", mimo_layers=4), net, cat)
    mimo8 = price(UpgradeMimo(cell_id="S01-1", mimo_layers=8), net, cat)
    assert mimo4.total_eur == 6500 + 700
    assert mimo8.total_eur == 28500 + 2500  # 2 -> 8 from this network's 2 layers
    assert price(SetCio(cell_id="S01-1", cio_db=-3.0), net, cat).total_eur == 0.0
    row = action_to_json(SplitSector(cell_id="S01-1", rationale="why"), split)
    assert row["kind"] == "split_sector" and row["targets"] == ["S01-1"]
    assert row["cost"] == split.total_eur and row["rationale"] == "why"


def test_small_cells_at_candidates_already_named_sc_keep_one_prefix() -> None:
    a = AddSmallCell(candidate_id="SC-017")
    assert a.new_site_id() == "SC-017" and a.new_cell_id() == "SC-017-1"
    b = AddSmallCell(candidate_id="C01")
    assert b.new_site_id() == "SC-C01" and b.new_cell_id() == "SC-C01-1"
    assert new_site_id("SC-017") == a.new_site_id() and new_site_id("C01") == b.new_site_id()
