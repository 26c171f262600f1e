"""``celltwin llm``: build training data for the embedded model and train a LoRA adapter.

``celltwin llm dataset`` labels generated networks with the verified plans of the expensive
systematic search (:mod:`planner.llm.dataset`); ``celltwin llm train`` fine-tunes the embedded
model on them (extra ``[train]``: torch, transformers, peft, gguf) and exports a GGUF LoRA
adapter that ``celltwin plan --llm-adapter PATH`` loads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from twin.errors import ValidationError


def register(sub: Any) -> None:
    p = sub.add_parser("llm", help="training data and LoRA training for the embedded LLM",
                       description="Build training examples for the embedded model from the "
                       "twin's verified plans, and train a LoRA adapter on them.")
    llm_sub = p.add_subparsers(dest="llm_command", required=True, metavar="ACTION")

    d = llm_sub.add_parser("dataset", help="label generated networks with verified plans",
                           description="Generate training networks (seeded), plan each with "
                           "the expensive systematic search, and write examples.jsonl (prompt = "
                           "the product's digest, completion = the plan as the proposal JSON) "
                           "and data_card.json. Re-running the same folder resumes.")
    d.add_argument("--out", required=True, metavar="DIR", help="output folder")
    d.add_argument("--n", type=int, default=100, help="number of seeds; default 100")
    d.add_argument("--seed-start", type=int, default=0, help="first training seed; default 0")
    d.add_argument("--rounds", type=int, default=None,
                   help="select-verify rounds of the teacher (default: the teacher's 8)")
    d.add_argument("--workers", type=int, default=1,
                   help="what-if worker processes; default 1 (in-process)")
    d.add_argument("--task", choices=("plans", "intent"), default="plans",
                   help="plans: the proposer's examples (verified plans, default); intent: "
                   "the intent parser's (template-generated requests, planner/intent/"
                   "training_data.py)")
    d.add_argument("--per-network", type=int, default=10,
                   help="with --task intent: requests per generated network; default 10")
    d.add_argument("--quiet", action="store_true", help="no progress on stderr")
    d.set_defaults(func=run_dataset)

    t = llm_sub.add_parser("train", help="LoRA-train the embedded model (extra [train])",
                           description="LoRA fine-tuning of the embedded Gemma 3 270M on a "
                           "dataset folder (torch CPU + transformers + peft), loss on the "
                           "completion tokens only; checkpoints every --save-every steps and "
                           "resumes from the latest one in --out; exports adapter.gguf.")
    t.add_argument("--data", required=True, metavar="DIR",
                   help="dataset folder (examples.jsonl) from `celltwin llm dataset`")
    t.add_argument("--out", required=True, metavar="DIR", help="run folder (checkpoints, log, "
                   "adapter.gguf)")
    t.add_argument("--steps", type=int, default=200, help="optimiser steps; default 200")
    t.add_argument("--lr", type=float, default=2e-4, help="learning rate; default 2e-4")
    t.add_argument("--rank", type=int, default=16, help="LoRA rank; default 16")
    t.add_argument("--alpha", type=float, default=32.0, help="LoRA alpha; default 32")
    t.add_argument("--max-length", type=int, default=1536,
                   help="longest example in tokens (longer ones are skipped); default 1536")
    t.add_argument("--save-every", type=int, default=25, help="checkpoint interval; default 25")
    t.add_argument("--limit", type=int, default=None, help="use the first N examples only")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: cores)")
    t.add_argument("--seed", type=int, default=0, help="shuffle seed; default 0")
    t.add_argument("--fp32", action="store_true",
                   help="no bf16 autocast (faster on CPUs where bf16 is emulated)")
    t.add_argument("--quiet", action="store_true", help="no progress on stderr")
    t.set_defaults(func=run_train)


def _log(quiet: bool, prefix: str) -> Any:
    return None if quiet else (lambda m: print(f"celltwin llm {prefix}: {m}", file=sys.stderr))


def run_dataset(args: argparse.Namespace) -> int:
    from planner.llm.cases import check_training_seed
    from planner.llm.dataset import TEACHER_ROUNDS, write_dataset

    if args.n < 1:
        raise ValidationError("llm dataset", f"--n must be >= 1, got {args.n}")
    if args.workers < 1:
        raise ValidationError("llm dataset", f"--workers must be >= 1, got {args.workers}")
    seeds = range(args.seed_start, args.seed_start + args.n)
    check_training_seed(seeds[0])
    check_training_seed(seeds[-1])
    if args.task == "intent":
        from planner.intent.training_data import write_intent_dataset

        if args.per_network < 1:
            raise ValidationError("llm dataset", f"--per-network must be >= 1, got "
                                  f"{args.per_network}")
        card = write_intent_dataset(Path(args.out), seeds, args.per_network,
                                    log=_log(args.quiet, "dataset"))
        print(json.dumps({k: card[k] for k in ("task", "n_examples", "languages",
                                               "fields_said")}, indent=2))
        return 0
    card = write_dataset(Path(args.out), seeds, args.rounds or TEACHER_ROUNDS,
                         workers=args.workers, log=_log(args.quiet, "dataset"))
    print(json.dumps({"out": args.out, "n_examples": card["n_examples"],
                      "seeds_without_example": card["seeds_without_example"],
                      "counts": card["counts"]}, indent=2))
    return 0


def run_train(args: argparse.Namespace) -> int:
    from planner.llm.train import TrainSettings, train

    settings = TrainSettings(steps=args.steps, lr=args.lr, rank=args.rank, alpha=args.alpha,
                             max_length=args.max_length, save_every=args.save_every,
                             limit=args.limit, threads=args.threads, seed=args.seed,
                             bf16=not args.fp32)
    result = train(Path(args.data), Path(args.out), settings, log=_log(args.quiet, "train"))
    print(json.dumps(result, indent=2))
    return 0
