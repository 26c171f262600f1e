"""Training data for the LLM: generated cases, teacher labels, the JSONL and its data card."""

from __future__ import annotations

import json

import pytest

from actions.models import SetCio, SetTilt
from cli.main import main
from planner.llm.cases import EVAL_SEED_START, build_case, draw_case
from planner.llm.dataset import DATA_CARD, EXAMPLES, completion_items, label_case
from planner.llm.grammar import ProposalSpace, proposal_model
from twin.errors import ValidationError

SMALL_SEED = 1  # a one-ring case (21 cells): labelled in a few seconds


def test_cases_are_deterministic_and_diverse():
    assert draw_case(5) == draw_case(5)
    specs = [draw_case(s) for s in range(40)]
    assert {s.crowd for s in specs} == {"boresight", "edge", "two", "mast"}
    assert {s.layout for s in specs} == {"hex", "jitter"}
    assert {s.rings for s in specs} == {1, 2}
    assert any(s.forbid for s in specs) and any(s.protect for s in specs)
    assert all(0.4 <= s.target <= 0.8 and s.peak > s.target for s in specs)


def test_a_case_reaches_its_drawn_peak():
    spec = draw_case(SMALL_SEED)
    assert spec.rings == 1
    st = build_case(spec).twin().run()
    assert st.kpis["peak_prb_util"] == pytest.approx(spec.peak, abs=0.01)


def test_evaluation_seeds_are_refused_for_training(tmp_path):
    with pytest.raises(ValidationError, match="reserved for evaluation"):
        label_case(EVAL_SEED_START, tmp_path)
    assert main(["llm", "dataset", "--out", str(tmp_path), "--n", "2",
                 "--seed-start", str(EVAL_SEED_START - 1)]) == 2


def test_completion_keeps_only_what_the_grammar_can_say():
    space = ProposalSpace(cells=("A-1", "A-2"), candidates=("C1",), max_proposals=3)
    acts = [SetTilt(cell_id="A-1", elec_tilt_deg=8.0,
                    rationale="A-1 is at 0.93; downtilt to 8 deg [twin what-if alone: 0.9]"),
            SetTilt(cell_id="B-1", elec_tilt_deg=8.0),  # outside the grammar's cells
            SetCio(cell_id="A-2", cio_db=2.5)]  # not an integer
    items, dropped = completion_items(acts, space)
    assert dropped == 2
    assert items == [{"kind": "set_tilt", "cell_id": "A-1", "elec_tilt_deg": 8,
                      "rationale": "downtilt to 8 deg"}]
    proposal_model(space).model_validate({"proposals": items})


def test_cli_writes_examples_and_data_card_and_resumes(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["llm", "dataset", "--out", str(out), "--n", "1", "--seed-start", str(SMALL_SEED),
            "--rounds", "3", "--quiet"]
    assert main(args) == 0
    lines = (out / EXAMPLES).read_text().splitlines()
    assert len(lines) == 1
    ex = json.loads(lines[0])
    assert ex["seed"] == SMALL_SEED
    assert ex["prompt"].startswith("Network 'train-1'")
    assert ex["prompt"].endswith("as JSON:\n")
    answer = json.loads(ex["completion"])
    assert 1 <= len(answer["proposals"]) <= 6
    assert ex["label"]["peak_after"] < ex["label"]["peak_before"]
    card = json.loads((out / DATA_CARD).read_text())
    assert card["training_seeds"] == [SMALL_SEED]
    assert card["evaluation_seeds_from"] == EVAL_SEED_START
    assert card["teacher"]["rounds"] == 3
    assert card["teacher"]["generator"]["max_neighbours"] > \
        card["teacher"]["default_generator"]["max_neighbours"]
    assert sum(card["counts"]["crowd"].values()) == 1
    capsys.readouterr()
    assert main(args) == 0  # the seed is there already: nothing is relabelled
    assert (out / EXAMPLES).read_text().splitlines() == lines
