"""The digest the LLM reads and the space its grammar allows, on hotspot (no model runs here:
these are the inputs of a proposal round, checked against the twin's own tables)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from actions.costs import load_costs
from actions.models import SetTilt
from planner.llm.closed_loop import LLMCandidateProposer
from planner.llm.digest import DigestRows, build_digest
from planner.llm.grammar import ProposalSpace
from planner.llm.proposer import LLMProposer
from planner.loop import ProposalRequest
from policies import load_policy
from twin.scenarios import load_scenario


@pytest.fixture(scope="module")
def hotspot() -> tuple[Any, Any]:
    sc = load_scenario("hotspot")
    return sc, sc.twin().run()


def _listed(prompt: str, heading: str) -> list[tuple[str, str]]:
    """(id, first value) of the ``- 'id': value, ...`` rows under ``heading``."""
    block = prompt.split(heading, 1)[1].split("\n")[1:]
    rows = []
    for line in block:
        m = re.match(r"- '([^']+)': ([^,]+)", line)
        if not m:
            break
        rows.append((m.group(1), m.group(2)))
    return rows


def test_digest_shows_the_twins_busiest_cells_spare_neighbours_and_candidates(hotspot) -> None:
    sc, st = hotspot
    rc = st.res_cell.set_index("cell_id")
    space = ProposalSpace(cells=tuple(rc.index[:6]), candidates=("C01", "C05", "C06"))
    prompt = build_digest(sc.network, st, space, load_costs(), 0.5, 100_000)
    busiest = _listed(prompt, "Busiest cells")
    expected = rc["prb_util"].sort_values(ascending=False).head(5)
    assert [c for c, _ in busiest] == list(expected.index)
    assert busiest[0] == ("S01-1", f"{expected.iloc[0]:.0%}")
    spare = _listed(prompt, "Nearby cells with spare capacity")
    assert spare and all(rc.loc[c, "prb_util"] < 0.5 for c, _ in spare)
    assert not {c for c, _ in spare} & set(expected.index)
    cands = [c for c, _ in _listed(prompt, "Candidate small-cell locations")]
    assert sorted(cands) == ["C01", "C05", "C06"]  # only those the grammar allows
    assert "within a budget of 100,000 EUR" in prompt and "at most 50%" in prompt
    assert "set_cio 0" in prompt and "split_sector 33,000" in prompt  # the catalogue's prices
    assert prompt.endswith("as JSON:\n")
    smaller = build_digest(sc.network, st, space, load_costs(), 0.5, 100_000,
                           rows=DigestRows(busiest=2, neighbours=1, candidates=1))
    assert len(_listed(smaller, "Busiest cells")) == 2 and len(smaller) < len(prompt)


def test_loop_space_follows_the_load_and_the_policy(hotspot) -> None:
    sc, st = hotspot
    adapter = LLMCandidateProposer(LLMProposer("embedded"), load_costs(), load_policy(None))
    space = adapter.space_for(sc.network, st)
    ranked = list(st.res_cell.sort_values("prb_util", ascending=False)["cell_id"])
    assert space.cells == tuple(ranked[:8])
    assert space.candidates[0] in {"C05", "C01"}  # nearest the busiest cell first
    assert set(space.candidates) <= set(sc.network.candidates["candidate_id"])
    bounds = load_policy(None).bounds(sc.network)
    tilt = bounds.param_range("set_tilt", "elec_tilt_deg")
    assert tilt.min_value <= space.tilt_deg[0] <= space.tilt_deg[1] <= tilt.max_value


def test_cells_the_digest_offers_as_spare_capacity_are_in_the_grammar(hotspot) -> None:
    # A neighbour's CIO or uptilt is how verified plans often offload: the digest lists these
    # cells, so the grammar must let the model name them.
    sc, st = hotspot
    adapter = LLMCandidateProposer(LLMProposer("embedded"), load_costs(), load_policy(None))
    space = adapter.space_for(sc.network, st, 0.5)
    prompt = build_digest(sc.network, st, space, load_costs(), 0.5, 100_000)
    spare = [cid for cid, _ in _listed(prompt, "Nearby cells with spare capacity")]
    assert spare
    assert set(spare) <= set(space.cells)
    assert space.cells[:8] == adapter.space_for(sc.network, st).cells


def test_feedback_says_what_the_last_plan_reached_and_where_it_fell_short(hotspot) -> None:
    sc, st = hotspot
    adapter = LLMCandidateProposer(LLMProposer("embedded"), load_costs(), load_policy(None))
    tw = sc.twin()
    first = ProposalRequest(tw, sc.network, (st,), (), 0.5, 100_000, 0, ())
    assert adapter._feedback(first, st) is None
    plan = (SetTilt(cell_id="S01-1", elec_tilt_deg=10),)
    later = ProposalRequest(tw, sc.network, (st,), plan, 0.5, 100_000, 1,
                            ({"verified_peak": 0.61, "cost": 100.0},))
    text = adapter._feedback(later, st)
    assert text is not None
    assert "set electrical tilt of S01-1 to 10 deg" in text and "61%" in text
    assert "Still above target: 'S01-1' 93%" in text
    done = ProposalRequest(tw, sc.network, (st,), plan, 0.95, 100_000, 1,
                           ({"verified_peak": 0.93, "cost": 100.0},))
    assert "Every cell is within target" in adapter._feedback(done, st)
