"""LoRA fine-tuning of the embedded model on the twin's verified plans (extra ``[train]``).

The base weights are the embedded GGUF itself, dequantised by transformers
(``from_pretrained(dir, gguf_file=...)``), so the adapter is trained on exactly the weights
llama.cpp runs (up to the Q4_K_M dequantisation). Tokens come from llama.cpp's own tokenizer
(the one the proposer uses at run time), the prompt with BOS and the completion without; the
loss covers the completion tokens only, and only their logits are computed
(``logits_to_keep``: the 262k-token vocabulary makes full logits the largest tensor of a
step). bf16 autocast on the CPU, batch 1, AdamW, linear warm-up then cosine decay (a function
of the step, so a resumed run continues the same schedule); the example order is a seeded
permutation per epoch (also a function of the step).

A run folder holds ``checkpoint.pt`` (written atomically every ``save_every`` steps: LoRA
weights, optimiser state, step, losses), ``train_log.jsonl`` (one line per step) and at the
end ``adapter.gguf`` with ``adapter.json`` (its sha256, the base model's, the data card's,
the settings and the last losses). Re-running the same command resumes from the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from planner.llm.adapter import gguf_tensor_name, write_adapter
from planner.llm.dataset import DATA_CARD, EXAMPLES, read_examples
from planner.llm.model import resolve_model
from twin.errors import CelltwinError, InputFileError

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the base model is a local file: no model hub

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKPOINT = "checkpoint.pt"
LOG = "train_log.jsonl"
ADAPTER = "adapter.gguf"
ADAPTER_CARD = "adapter.json"


class TrainingUnavailableError(CelltwinError):
    """The ``[train]`` extra (torch, transformers, peft, gguf) is not installed."""


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 200
    lr: float = 2e-4
    rank: int = 16
    alpha: float = 32.0
    max_length: int = 1536
    save_every: int = 25
    limit: int | None = None
    threads: int | None = None
    seed: int = 0
    warmup: int = 10
    model: str | None = None  # None: the embedded model
    #: bf16 autocast; off (fp32) was 2x faster per step on a loaded 2-core AMD EPYC with one
    #: thread (2.5 s CPU against 5.5 s, short intent examples), see docs/intents.md
    bf16: bool = True


def require_train_extra() -> None:
    missing = []
    for mod in ("torch", "transformers", "peft", "gguf"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise TrainingUnavailableError(
            f"celltwin llm train needs {', '.join(missing)}: pip install 'celltwin[train]' "
            "(torch==2.13.0 is the CPU wheel; plain torch pulls a CUDA build of several GB)")


def lr_at(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    frac = (step - s.warmup) / max(1, s.steps - s.warmup)
    return s.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def example_at(step: int, n: int, seed: int) -> int:
    import numpy as np

    epoch, k = divmod(step, n)
    return int(np.random.default_rng([seed, epoch]).permutation(n)[k])


def tokenize_examples(examples: list[dict[str, Any]], model_path: Path, max_length: int
                      ) -> tuple[list[tuple[list[int], list[int]]], int]:
    """(prompt ids with BOS, completion ids) per example, by llama.cpp's tokenizer; and how
    many were longer than ``max_length`` (left out)."""
    from llama_cpp import Llama

    from planner.llm.llama_log import route_llama_logs

    route_llama_logs()
    vocab = Llama(str(model_path), vocab_only=True, verbose=False)
    out: list[tuple[list[int], list[int]]] = []
    too_long = 0
    try:
        for ex in examples:
            p = vocab.tokenize(ex["prompt"].encode("utf-8"), add_bos=True)
            c = vocab.tokenize(ex["completion"].encode("utf-8"), add_bos=False)
            if len(p) + len(c) > max_length:
                too_long += 1
                continue
            out.append((list(p), list(c)))
    finally:
        vocab.close()
    return out, too_long


def _sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_base(model_path: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_path.parent),
                                                gguf_file=model_path.name,
                                                dtype=torch.float32)


def lora_tensors(model: Any) -> dict[str, tuple[Any, Any]]:
    """``{gguf weight name: (lora_a [r, n_in], lora_b [n_out, r])}`` of a peft model."""
    out: dict[str, tuple[Any, Any]] = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            a = module.lora_A["default"].weight.detach().float().cpu().numpy()
            b = module.lora_B["default"].weight.detach().float().cpu().numpy()
            out[gguf_tensor_name(name)] = (a, b)
    return out


def train(data: Path, out: Path, settings: TrainSettings | None = None,
          log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train (or resume) in ``out`` on ``data/examples.jsonl``; export ``out/adapter.gguf``;
    return the adapter's card."""
    return train_model(data, out, settings, log)[1]


def train_model(data: Path, out: Path, settings: TrainSettings | None = None,
                log: Callable[[str], None] | None = None, base: Any = None
                ) -> tuple[Any, dict[str, Any]]:
    """:func:`train`, returning the trained peft model too (for checks against llama.cpp).

    ``base``: the transformers model of the embedded GGUF, already loaded (its dequantisation
    takes about a minute), e.g. ``peft_model.unload()`` of an earlier run; None loads it."""
    require_train_extra()
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import get_peft_model_state_dict

    s = settings or TrainSettings()
    say = log or (lambda _m: None)
    examples = read_examples(data / EXAMPLES)
    if s.limit is not None:
        examples = examples[:s.limit]
    if not examples:
        raise InputFileError(f"no training examples in {str(data / EXAMPLES)!r}; run "
                             "celltwin llm dataset first")
    info = resolve_model(s.model)
    torch.set_num_threads(s.threads or max(1, os.cpu_count() or 1))
    torch.manual_seed(s.seed)
    pairs, too_long = tokenize_examples(examples, info.path, s.max_length)
    if not pairs:
        raise InputFileError(f"every example is longer than the maximum length, {s.max_length} tokens")
    say(f"{len(pairs)} examples ({too_long} longer than {s.max_length} tokens left out)")
    out.mkdir(parents=True, exist_ok=True)
    if base is None:
        t0 = time.perf_counter()
        base = load_base(info.path)
        say(f"base model loaded in {time.perf_counter() - t0:.0f} s")
    cfg = LoraConfig(r=s.rank, lora_alpha=s.alpha, lora_dropout=0.0, bias="none",
                     target_modules=list(TARGET_MODULES), task_type="CAUSAL_LM")
    model = get_peft_model(base, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.0)
    step, losses = 0, []
    ckpt = out / CHECKPOINT
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state.get("settings", {}).get("rank") != s.rank:
            raise InputFileError(f"checkpoint {str(ckpt)!r} has rank "
                                 f"{state.get('settings', {}).get('rank')}, not {s.rank}; use "
                                 "another output folder or the same settings")
        set_peft_model_state_dict(model, state["lora"])
        opt.load_state_dict(state["optim"])
        step, losses = int(state["step"]), list(state["losses"])
        say(f"resumed at step {step}")

    def save() -> None:
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        with warnings.catch_warnings():
            # peft looks for a Hugging Face config beside the GGUF to see whether the
            # vocabulary changed; it did not (embeddings are not trained)
            warnings.simplefilter("ignore", UserWarning)
            lora = get_peft_model_state_dict(model)
        torch.save({"lora": lora, "optim": opt.state_dict(),
                    "step": step, "losses": losses, "settings": asdict(s)}, tmp)
        tmp.replace(ckpt)

    model.train()
    with (out / LOG).open("a") as fh:
        while step < s.steps:
            t = time.perf_counter()
            p_ids, c_ids = pairs[example_at(step, len(pairs), s.seed)]
            ids = torch.tensor([p_ids + c_ids])
            for g in opt.param_groups:
                g["lr"] = lr_at(step, s)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.bf16):
                # logits of the positions that predict the completion (and one more, dropped)
                logits = model(input_ids=ids, logits_to_keep=len(c_ids) + 1).logits
            pred = logits[0, :-1].float()
            loss = torch.nn.functional.cross_entropy(pred, torch.tensor(c_ids))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            value = float(loss.detach())
            losses.append(value)
            rec = {"step": step, "loss": value, "lr": lr_at(step - 1, s),
                   "tokens": len(p_ids) + len(c_ids), "seconds": time.perf_counter() - t}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            if step % 10 == 0 or step == s.steps:
                say(f"step {step}/{s.steps} loss {value:.4f} "
                    f"({rec['seconds']:.1f} s/step)")
            if step % s.save_every == 0 or step == s.steps:
                save()
    return model, export(model, out, info, data, s, losses, len(pairs))


def export(model: Any, out: Path, info: Any, data: Path, s: TrainSettings,
           losses: list[float], n_examples: int) -> dict[str, Any]:
    from planner.llm.model import file_sha256

    arch = "gemma3"
    data_sha = _sha256(data / DATA_CARD)
    path = out / ADAPTER
    write_adapter(path, lora_tensors(model), s.alpha, arch, info.sha256, data_sha)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    task = "plans"
    if (data / DATA_CARD).exists():
        task = str(json.loads((data / DATA_CARD).read_text()).get("task", "plans"))
    card = {"adapter": ADAPTER, "task": task, "sha256": sha, "bytes": path.stat().st_size,
            "base_model": {"name": info.name, "sha256": info.sha256},
            "data_card_sha256": data_sha, "n_examples": n_examples, "settings": asdict(s),
            "steps": len(losses), "first_losses": losses[:10], "last_losses": losses[-10:]}
    (out / ADAPTER_CARD).write_text(json.dumps(card, indent=2))
    file_sha256(path)  # prime the sidecar cache the proposer reads
    return card
