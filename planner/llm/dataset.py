"""Training examples for the LLM proposer, labelled by the twin and the optimiser.

For each training seed (:mod:`planner.llm.cases`) the full systematic loop runs with a richer
generator than the product's default (:data:`TEACHER_OPTIONS`: more neighbours, finer tilt,
CIO, power and azimuth steps, more small-cell settings) and more rounds; its verified plan is
the label. An example is

* ``prompt``: the digest the product builds for the first proposal round
  (:func:`planner.llm.digest.build_digest`, the same narrowed :class:`ProposalSpace`);
* ``completion``: the plan's actions as the JSON answer the proposal grammar accepts
  (``{"proposals": [...]}``, keys in the schema's order, guidance's default separators), with
  only the actions the space can express (an action on a cell outside the grammar's focus, or
  a non-integer value, is dropped and counted in the data card).

:func:`write_dataset` appends to ``examples.jsonl`` (a seed already there is skipped, so an
interrupted run resumes) and rewrites ``data_card.json`` (counts per kind of case, seeds,
search settings, the label's verified peak and cost).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from actions.costs import load_costs
from planner.candidates import GeneratorOptions
from planner.executors import make_executor
from planner.llm.cases import (
    EVAL_SEED_START,
    build_case,
    case_policy_dir,
    check_training_seed,
    draw_case,
)
from planner.llm.closed_loop import LLMCandidateProposer
from planner.llm.digest import build_digest
from planner.llm.grammar import ProposalSpace, proposal_model
from planner.loop import PlannerSettings, plan_network
from policies import load_policy

EXAMPLES = "examples.jsonl"
DATA_CARD = "data_card.json"
#: the teacher's search: what the default generator would not try
TEACHER_OPTIONS = GeneratorOptions(
    max_neighbours=10,
    hot_tilt_steps_deg=(1.0, 2.0, 3.0, 4.0, 6.0),
    hot_cio_steps_db=(-2.0, -3.0, -4.0, -6.0),
    hot_power_steps_db=(-2.0, -3.0, -6.0),
    neighbour_tilt_steps_deg=(-3.0, -2.0, -1.0, 1.0, 2.0),
    neighbour_cio_steps_db=(2.0, 3.0, 4.0, 6.0),
    azimuth_steps_deg=(-20.0, -10.0, 10.0, 20.0),
    small_cell_power_dbm=(24.0, 30.0, 37.0),
    small_cell_cio_db=(0.0, 3.0, 6.0, 9.0),
)
TEACHER_ROUNDS = 8
#: shipped scenarios and benchmark variants: never generated as training cases (their names
#: differ from ``train-<seed>`` by construction; listed in the data card for the record)
HELD_OUT = ("hotspot", "calib-uma", "calib-umi", "milan", "munich", "hotspot-v*",
            f"seeds >= {EVAL_SEED_START}")


def _short(text: str, limit: int) -> str:
    """The part of a systematic rationale after the cell's load (the why of the change)."""
    tail = text.split("; ", 1)[-1]
    # the loop appends the what-if's result: a number the model cannot know when it proposes
    return tail.split(" [", 1)[0][:limit]


def completion_items(actions: Iterable[Any], space: ProposalSpace) -> tuple[list[dict], int]:
    """The actions the grammar of ``space`` can express, as answer items in schema order;
    and how many were dropped."""
    items: list[dict] = []
    dropped = 0
    for a in actions:
        d = a.model_dump()
        kind = d["kind"]
        if kind not in space.kinds:
            dropped += 1
            continue
        item: dict[str, Any] = {"kind": kind}
        ok = True
        for key, value in d.items():
            if key in ("kind", "rationale"):
                continue
            known = {"cell_id": space.cells, "candidate_id": space.candidates}.get(key)
            if known is not None and value not in known:
                ok = False
            elif isinstance(value, float):
                if abs(value - round(value)) > 1e-9:
                    ok = False
                value = round(value)
            item[key] = value
        if not ok:
            dropped += 1
            continue
        item["rationale"] = _short(str(d.get("rationale", "")), space.rationale_max)
        items.append(item)
    items = items[:space.max_proposals]
    return items, dropped


def completion_text(items: list[dict]) -> str:
    # guidance's JSON grammar without whitespace flexibility uses json's default separators
    return json.dumps({"proposals": items})


def label_case(seed: int, workdir: Path, rounds: int = TEACHER_ROUNDS,
               options: GeneratorOptions = TEACHER_OPTIONS, workers: int = 1
               ) -> dict[str, Any] | None:
    """One example for ``seed``, or None when the teacher found nothing the grammar can say."""
    check_training_seed(seed)
    spec = draw_case(seed)
    sc = build_case(spec)
    twin = sc.twin()
    catalogue = load_costs(None)
    policy = load_policy(str(p) if (p := case_policy_dir(spec, workdir)) else None)
    t0 = time.perf_counter()
    settings = PlannerSettings(target=spec.target, budget_eur=spec.budget_eur,
                               max_iterations=rounds, generator=options)
    ex = make_executor(None, workers)
    try:
        plan = plan_network(twin, catalogue, settings, ex, policy, None, scenario=sc.name)
    finally:
        ex.close()
    seconds = time.perf_counter() - t0
    before = twin.run()
    hook = LLMCandidateProposer(None, catalogue, policy)  # type: ignore[arg-type]
    space = hook.space_for(sc.network, before, spec.target)
    prompt = build_digest(sc.network, before, space, catalogue, spec.target, spec.budget_eur)
    items, dropped = completion_items([c.action for c in plan.actions], space)
    if not items:
        return None
    proposal_model(space).model_validate({"proposals": items})  # what the grammar accepts
    return {
        "seed": seed, "prompt": prompt, "completion": completion_text(items),
        "case": spec.to_json(),
        "label": {"verified": bool(plan.verified), "policy_passed": plan.policy.get("passed"),
                  "peak_before": float(plan.before.kpis["peak_prb_util"]),
                  "peak_after": float(plan.after.kpis["peak_prb_util"]),
                  "cost": float(plan.total_cost), "what_ifs": int(plan.what_ifs),
                  "n_actions": len(plan.actions), "n_in_completion": len(items),
                  "n_dropped": dropped, "seconds": seconds},
    }


def read_examples(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def data_card(examples: list[dict[str, Any]], skipped: list[int], rounds: int,
              options: GeneratorOptions) -> dict[str, Any]:
    cases = [e["case"] for e in examples]
    labels = [e["label"] for e in examples]
    kinds = Counter(i["kind"] for e in examples for i in json.loads(e["completion"])["proposals"])
    return {
        "n_examples": len(examples),
        "training_seeds": sorted(e["seed"] for e in examples),
        "seeds_without_example": sorted(skipped),
        "evaluation_seeds_from": EVAL_SEED_START,
        "never_in_training": list(HELD_OUT),
        "counts": {
            "layout": dict(Counter(c["layout"] for c in cases)),
            "rings": dict(Counter(str(c["rings"]) for c in cases)),
            "isd_m": dict(Counter(str(int(c["isd_m"])) for c in cases)),
            "crowd": dict(Counter(c["crowd"] for c in cases)),
            "forbid": dict(Counter(",".join(c["forbid"]) or "none" for c in cases)),
            "protected_cell": sum(1 for c in cases if c["protect"]),
            "budget_eur": dict(Counter(str(int(c["budget_eur"])) for c in cases)),
            "target": dict(Counter(f"{c['target']:.1f}" for c in cases)),
            "label_kinds": dict(kinds),
        },
        "labels": {
            "verified": sum(1 for lab in labels if lab["verified"]),
            "actions_dropped_not_expressible": sum(lab["n_dropped"] for lab in labels),
            "actions_in_completions": sum(lab["n_in_completion"] for lab in labels),
            "mean_teacher_what_ifs": (sum(lab["what_ifs"] for lab in labels) / len(labels)
                                      if labels else 0.0),
            "mean_teacher_seconds": (sum(lab["seconds"] for lab in labels) / len(labels)
                                     if labels else 0.0),
        },
        "teacher": {"rounds": rounds, "generator": asdict(options),
                    "default_generator": asdict(GeneratorOptions())},
    }


def write_dataset(out: Path, seeds: Iterable[int], rounds: int = TEACHER_ROUNDS,
                  options: GeneratorOptions = TEACHER_OPTIONS, workers: int = 1,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Label ``seeds`` into ``out/examples.jsonl`` (resuming) and write the data card."""
    say = log or (lambda _m: None)
    seeds = list(seeds)
    for s in seeds:
        check_training_seed(s)
    out.mkdir(parents=True, exist_ok=True)
    path = out / EXAMPLES
    examples = read_examples(path)
    card_path = out / DATA_CARD
    skipped: list[int] = []
    if card_path.exists():
        skipped = list(json.loads(card_path.read_text()).get("seeds_without_example", []))
    done = {e["seed"] for e in examples} | set(skipped)
    with tempfile.TemporaryDirectory(prefix="celltwin-dataset-") as tmp, path.open("a") as fh:
        for seed in seeds:
            if seed in done:
                continue
            ex = label_case(seed, Path(tmp), rounds, options, workers)
            if ex is None:
                skipped.append(seed)
                say(f"seed {seed}: no expressible label, skipped")
            else:
                fh.write(json.dumps(ex) + "\n")
                fh.flush()
                examples.append(ex)
                lab = ex["label"]
                say(f"seed {seed}: peak {lab['peak_before']:.3f} -> {lab['peak_after']:.3f} "
                    f"(target {ex['case']['target']:.2f}), {lab['n_in_completion']} actions, "
                    f"{lab['seconds']:.1f} s")
            done.add(seed)
            card = data_card(examples, skipped, rounds, options)
            card_path.write_text(json.dumps(card, indent=2))
    card = data_card(examples, skipped, rounds, options)
    card_path.write_text(json.dumps(card, indent=2))
    return card
