"""``celltwin plan --ask "..."``: a request in plain words becomes a checked planning intent.

The sentence is parsed (the local LLM under a grammar narrowed to the network's ids, merged
with the regex baseline; or the baseline alone), the intent is printed for the planner to
confirm, and only then planned:

- ``--yes``: plan at once;
- a terminal: ``Plan this? [y/N]`` (anything but y/yes/j/ja/s/si: nothing planned, exit 0);
- no terminal and no ``--yes`` (a script, a pipe): the intent is printed (with ``--json`` as
  ``{"intent": ..., "planned": false}``) and the command exits 0 without planning.

An unmatched item (a site name or id the network does not have) or an intent that forbids
every kind stops the command with a clear error (exit 2), nothing planned. The options the
command line sets (``--target``, ``--budget``, ``--max-actions``, ``--horizon``) are the
intent's defaults: the sentence overrides them field by field, and the printout marks what
stayed a default.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.intent.mapping import IntentPlanInputs, plan_inputs
from planner.intent.model import Hours, PlanningIntent
from planner.intent.network_check import require_valid
from planner.intent.ts28312 import intent_from_document
from planner.loop import PlannerSettings
from policies import PolicySet
from twin.errors import InputFileError, ValidationError
from twin.network import Network

YES = {"y", "yes", "j", "ja", "s", "si", "sì"}


def add_ask_arguments(p: Any) -> None:
    p.add_argument("--ask", default=None, metavar="TEXT",
                   help="the request in plain words (English, Italian or German), e.g. "
                   "\"relieve cell S01-1 on Sunday evening, no new masts, under 40k\": parsed "
                   "into an intent that is printed for confirmation; see --yes")
    p.add_argument("--yes", action="store_true",
                   help="with --ask: plan the parsed intent without asking (without --yes and "
                   "without a terminal the intent is printed and nothing is planned)")
    p.add_argument("--intent", default=None, metavar="FILE",
                   help="instead of --ask: a TS 28.312-style intent document (JSON, as --ask "
                   "--json prints under intent.document); confirmed like --ask")
    p.add_argument("--ask-parser", choices=("auto", "llm", "baseline"), default="auto",
                   help="with --ask: llm (the --llm model, merged with the regex baseline), "
                   "baseline (regex only) or auto (llm when a model is available)")
    p.add_argument("--ask-adapter", default="none", metavar="none|shipped|PATH",
                   help="with the llm parser: the LoRA adapter of the intent parser; none "
                   "(default: zero-shot), shipped (the package's, for the embedded model "
                   "only; measured not to help, docs/intents.md) or a GGUF adapter path")


@dataclass
class AskedIntent:
    """A confirmed intent: the planner inputs (shared with the API) and the LLM's record."""

    inputs: IntentPlanInputs
    llm_record: dict[str, Any] | None = None

    @property
    def policy(self) -> Any:
        return self.inputs.policy

    def settings(self, base: PlannerSettings) -> PlannerSettings:
        return self.inputs.settings(base)

    def to_json(self, network_name: str) -> dict[str, Any]:
        return {**self.inputs.to_json(network_name), "llm": self.llm_record}


def defaults_from_args(args: argparse.Namespace) -> PlanningIntent:
    return PlanningIntent(target=args.target, budget_eur=args.budget,
                          max_actions=args.max_actions,
                          hours=Hours(kind="all_day" if args.horizon == "day" else "busy_hour"))


def parse_request(text: str, network: Network, defaults: PlanningIntent, parser: str,
                  llm: str, policy: PolicySet | None, adapter: str | None = "none"
                  ) -> tuple[PlanningIntent, dict[str, Any] | None]:
    """The intent of ``text`` (``parser``: llm | baseline; ``adapter`` as
    :func:`planner.intent.llm_parser.resolve_adapter`) and the LLM's record, if asked."""
    from planner.intent.baseline import parse_baseline

    if parser == "baseline" or llm == "none":
        return parse_baseline(text, network, defaults), None
    from planner.intent.llm_parser import LLMIntentParser

    res = LLMIntentParser(llm, adapter=adapter).parse(text, network, defaults, policy)
    return res.intent, res.record()


def read_document(path: Path) -> PlanningIntent:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(f"--intent {str(path)!r}: cannot read a JSON document: "
                             f"{exc}") from None
    return intent_from_document(doc)


def ask_intent(args: argparse.Namespace, network: Network, policy: PolicySet | None, llm: str
               ) -> AskedIntent | None:
    """Parse ``--ask`` (or read ``--intent``), print it, and return it when confirmed (None:
    nothing to plan)."""
    parser = args.ask_parser
    if parser == "auto":
        parser = "baseline" if llm == "none" else "llm"
    if args.ask is not None and args.intent is not None:
        raise ValidationError("plan", "give either --ask or --intent, not both")
    if args.intent is not None:
        intent, record = read_document(Path(args.intent)), None
    elif parser == "llm" and llm == "none":
        raise ValidationError("plan", "--ask-parser llm needs a model: --llm embedded or PATH")
    else:
        intent, record = parse_request(args.ask, network, defaults_from_args(args), parser,
                                       llm, policy, getattr(args, "ask_adapter", "none"))
    if not args.json:
        print(f"request: {intent.text}")
        print(f"parsed intent ({intent.parser}) on network {network.name}:")
        print("\n".join(intent.summary_lines()))
    try:
        require_valid(intent, network)
    except ValidationError:
        if args.json:
            print(json.dumps({"intent": intent.to_json(), "planned": False}, indent=2))
        raise
    asked = AskedIntent(plan_inputs(intent, network, policy), record)
    if args.yes:
        return asked
    if sys.stdin.isatty() and sys.stderr.isatty():
        answer = input("Plan this? [y/N] ").strip().lower()
        if answer in YES:
            return asked
        print("not planned.", file=sys.stderr)
        return None
    if args.json:
        print(json.dumps({"intent": asked.to_json(network.name), "planned": False}, indent=2,
                         allow_nan=False))
    else:
        print("not planned: no terminal to confirm on; run again with --yes to plan this intent")
    return None
