"""dataset -> train -> resume -> export -> llama.cpp load -> a grammar-valid proposal, on two
one-ring training cases, a few steps (the real run is documented in docs/llm.md). Skipped
when the ``[train]`` extra (torch, transformers, peft, gguf) is not installed."""

from __future__ import annotations

import json

import numpy as np
import pytest

for _mod in ("torch", "transformers", "peft", "gguf"):
    pytest.importorskip(_mod, reason=f"{_mod} is not installed: the LoRA training test needs "
                        "the [train] extra (pip install -e '.[train]')")

from actions.costs import load_costs  # noqa: E402
from planner.llm.adapter import check_adapter, read_metadata  # noqa: E402
from planner.llm.cases import build_case, draw_case  # noqa: E402
from planner.llm.closed_loop import LLMCandidateProposer  # noqa: E402
from planner.llm.dataset import EXAMPLES, read_examples, write_dataset  # noqa: E402
from planner.llm.proposer import LLMProposer  # noqa: E402
from planner.llm.train import (  # noqa: E402
    ADAPTER,
    ADAPTER_CARD,
    LOG,
    TrainSettings,
    tokenize_examples,
    train_model,
)

pytestmark = pytest.mark.slow
SEEDS = (1, 4)  # one-ring cases: labelled in seconds


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-train")
    data, out = root / "data", root / "run"
    write_dataset(data, SEEDS, rounds=2)
    s = TrainSettings(steps=2, lr=2e-3, save_every=1, max_length=1400, warmup=1)
    first, _ = train_model(data, out, s)
    lines = (out / LOG).read_text().splitlines()
    assert len(lines) == 2
    # a second run with more steps resumes from the checkpoint instead of starting again
    # (on the same dequantised base weights, without their LoRA layers: no second load)
    model, card = train_model(data, out, TrainSettings(**{**s.__dict__, "steps": 3}),
                              base=first.unload())
    return data, out, model, card


def test_training_resumes_and_writes_a_card(run):
    _data, out, _model, card = run
    recs = [json.loads(line) for line in (out / LOG).read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in recs)
    assert card["steps"] == 3 and card["n_examples"] == len(SEEDS)
    on_disk = json.loads((out / ADAPTER_CARD).read_text())
    assert on_disk["sha256"] == card["sha256"]


def test_export_is_a_lora_adapter_llama_cpp_applies_as_peft_does(run):
    """The exported tensors change llama.cpp's logits as the peft adapter changes the
    transformers model's: names, transposition and the alpha/rank scale are right."""
    import llama_cpp
    import torch
    from llama_cpp import Llama

    data, out, model, card = run
    llm = LLMProposer("embedded")
    info = check_adapter(out / ADAPTER, llm.info, expected_sha256=card["sha256"])
    meta, n_tensors = read_metadata(out / ADAPTER)
    assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"
    assert n_tensors == 2 * 7 * 18  # lora_a and lora_b of 7 matrices in 18 blocks
    ex = read_examples(data / EXAMPLES)[0]
    (p_ids, _c), = tokenize_examples([ex], llm.info.path, 4096)[0]
    model.eval()
    with torch.no_grad():
        ids = torch.tensor([p_ids])
        hf_on = model(input_ids=ids, logits_to_keep=1).logits[0, -1].numpy()
        with model.disable_adapter():
            hf_off = model(input_ids=ids, logits_to_keep=1).logits[0, -1].numpy()

    def cpp_logits(lora: str | None) -> np.ndarray:
        kw = {"lora_path": lora} if lora else {}
        m = Llama(str(llm.info.path), n_ctx=2048, verbose=False, **kw)
        try:
            m.eval(p_ids)
            # without logits_all the Python wrapper keeps no scores: read llama.cpp's last row
            row = llama_cpp.llama_get_logits_ith(m._ctx.ctx, -1)
            return np.ctypeslib.as_array(row, shape=(m.n_vocab(),)).copy()
        finally:
            m.close()

    cpp_on, cpp_off = cpp_logits(str(info.path)), cpp_logits(None)
    d_hf, d_cpp = hf_on - hf_off, cpp_on - cpp_off
    assert np.abs(d_hf).max() > 1e-3  # the adapter does something
    corr = float(np.corrcoef(d_hf, d_cpp)[0, 1])
    ratio = float(np.linalg.norm(d_cpp) / np.linalg.norm(d_hf))
    assert corr > 0.9, (corr, ratio)
    assert 0.7 < ratio < 1.4, (corr, ratio)


def test_the_adapter_proposes_grammar_valid_actions(run):
    data, out, _model, card = run
    ex = read_examples(data / EXAMPLES)[0]
    spec = draw_case(ex["seed"])
    sc = build_case(spec)
    st = sc.twin().run()
    llm = LLMProposer("embedded", max_tokens=300, adapter=out / ADAPTER,
                      adapter_sha256=card["sha256"])
    hook = LLMCandidateProposer(llm, load_costs(None))
    space = hook.space_for(sc.network, st, spec.target)
    r = llm.propose(ex["prompt"], space)
    assert r.error is None, r.raw
    assert r.parsed is not None and 1 <= len(r.parsed["proposals"]) <= space.max_proposals
    for a in r.actions:
        assert (getattr(a, "cell_id", None) or a.candidate_id) in space.cells + space.candidates
    assert llm.adapter is not None and llm.adapter.sha256 == card["sha256"]
