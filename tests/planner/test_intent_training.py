"""The intent parser's training data and its shipped adapter: generated networks from
training seeds only, names and sentences the held-out set does not use, completions the
parser's grammar accepts and reads back to the gold intent's plan, and an adapter file whose
sha256 and base model are pinned."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from planner.intent.llm_parser import (
    SHIPPED_ADAPTER,
    SHIPPED_CARD,
    answer_model,
    answer_to_intent,
    compact_prompt,
    shipped_adapter,
)
from planner.intent.mapping import map_intent
from planner.intent.model import PlanningIntent
from planner.intent.named_networks import SITE_NAMES
from planner.intent.training_data import (
    LANGS,
    TRAIN_SITE_NAMES,
    draw_request,
    gold_answer,
    training_network,
    write_intent_dataset,
)
from planner.llm.cases import EVAL_SEED_START
from twin.errors import ValidationError

EVAL = Path(__file__).resolve().parents[2] / "bench" / "data" / "intent_eval.jsonl"


def test_training_networks_come_from_training_seeds_only() -> None:
    with pytest.raises(ValidationError):
        training_network(EVAL_SEED_START)
    held_out = {n for names in SITE_NAMES.values() for n in names.values()}
    assert not held_out & {n for names in TRAIN_SITE_NAMES.values() for n in names}


@pytest.mark.parametrize("seed", [200_001, 200_002])
def test_completions_are_grammar_valid_and_read_back_to_the_gold_plan(seed: int) -> None:
    tn = training_network(seed)
    net = tn.network
    model = answer_model(tuple(net.cells["cell_id"].astype(str)),
                         tuple(net.sites["site_id"].astype(str)))
    rng = random.Random(seed)
    for j in range(12):
        text, gold, unknown = draw_request(tn, rng, LANGS[j % 3])
        ans = gold_answer(gold)
        # the grammar's own model accepts the completion; its keys are in schema order
        assert list(model.model_validate(ans).model_dump()) == list(ans)
        read = answer_to_intent(ans, text, PlanningIntent())
        if not unknown and all(len(v) <= 4 for v in ans.values() if isinstance(v, list)):
            assert map_intent(read, net) == map_intent(gold, net), (text, ans)
        assert text in compact_prompt(text, net) or json.dumps(text) in compact_prompt(text,
                                                                                       net)


def test_dataset_is_seeded_and_shares_no_sentence_with_the_held_out_set(tmp_path: Path) -> None:
    a = write_intent_dataset(tmp_path / "a", range(200_010, 200_012), 6)
    b = write_intent_dataset(tmp_path / "b", range(200_010, 200_012), 6)
    assert a["examples_sha256"] == b["examples_sha256"] and a["n_examples"] == 12
    texts = {json.loads(x)["text"].lower() for x in
             (tmp_path / "a" / "examples.jsonl").read_text().splitlines()}
    held = {json.loads(x)["text"].lower() for x in EVAL.read_text().splitlines()}
    assert not texts & held


def test_the_shipped_adapter_is_pinned_and_documented() -> None:
    found = shipped_adapter()
    assert found is not None, f"{SHIPPED_ADAPTER} is missing"
    path, sha = found
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    card = json.loads(SHIPPED_CARD.read_text())
    assert card["task"] == "intent" and card["data_card"]["task"] == "intent"
    assert card["data_card"]["training_seeds"][1] < EVAL_SEED_START
    assert path.stat().st_size < 20_000_000
    from planner.llm.adapter import check_adapter
    from planner.llm.model import resolve_model

    info = check_adapter(path, resolve_model(None), sha)
    assert info.base_sha256 == resolve_model(None).sha256
