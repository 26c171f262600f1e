"""Intent parsing benchmark: the held-out requests of ``bench/data/intent_eval.jsonl`` (gold
intents written by hand) and the bad inputs of ``bench/data/intent_bad.jsonl``.

Per parser: per-field exact match (target, budget, hours, area, allowed and forbidden kinds,
protected cells and sites, most actions, and the set of unmatched items), all fields at
once, and *plan equivalence*: the parsed intent maps to the same planning options as the gold
intent on that network (``planner.intent.mapping.map_intent``: target, budget, most actions,
horizon and hours, allowed kinds, protected cells, area cells and candidates), or both report
something unmatched (nothing is planned either way). The full plan per request is not run (it
would be ~5-30 s each; identical options give the identical plan, the planner being
deterministic). Bad inputs: refused with a message.

    python bench/intent_bench.py                          # baseline on all requests
    python bench/intent_bench.py --llm embedded --limit 20  # + the LLM on a stratified subset
    python bench/intent_bench.py --adapter shipped        # + the trained adapter (resumes)

Without ``--llm``/``--adapter`` the recorded raw answers (``*_llm_raw.jsonl``,
``*_adapter_raw.jsonl``; greedy decoding, so a new run gives the same) are scored again.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine_info import cpu_model, memory_gib
from planner.intent.baseline import parse_baseline
from planner.intent.mapping import map_intent
from planner.intent.model import INTENT_FIELDS, PlanningIntent
from planner.intent.named_networks import SITE_NAMES, named_network
from twin.errors import CelltwinError
from twin.network import Network
from twin.scenarios import load_scenario

HERE = Path(__file__).parent
FIELDS = (*INTENT_FIELDS, "unmatched")


def networks(names: set[str]) -> dict[str, Network]:
    return {n: named_network(n) if n in SITE_NAMES else load_scenario(n).network for n in names}


def gold_intent(row: dict[str, Any]) -> tuple[PlanningIntent, set[str]]:
    g = dict(row["gold"])
    unmatched = {u.lower() for u in g.pop("unmatched", [])}
    return PlanningIntent(**g), unmatched


def score(parsed: PlanningIntent | None, gold: PlanningIntent, gold_un: set[str],
          net: Network) -> dict[str, Any]:
    if parsed is None:
        return {f: False for f in FIELDS} | {"all": False, "plan_equivalent": False}
    p, g = parsed.fields_json(), gold.fields_json()
    out: dict[str, Any] = {f: p[f] == g[f] for f in INTENT_FIELDS}
    p_un = {u.text.lower() for u in parsed.unmatched}
    out["unmatched"] = p_un == gold_un
    out["all"] = all(out[f] for f in FIELDS)
    if gold_un or p_un:
        out["plan_equivalent"] = bool(gold_un) and bool(p_un)
    else:
        try:
            out["plan_equivalent"] = map_intent(parsed, net) == map_intent(gold, net)
        except CelltwinError:
            out["plan_equivalent"] = False
    return out


def summarise(scores: list[dict[str, Any]]) -> dict[str, float]:
    n = max(1, len(scores))
    keys = (*FIELDS, "all", "plan_equivalent")
    return {k: round(sum(bool(s[k]) for s in scores) / n, 3) for k in keys} | {"n": len(scores)}


def stratified(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Every k-th request, so that the subset has each language and network."""
    if limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", default=None, help="also run the LLM parser with this model")
    ap.add_argument("--limit", type=int, default=None, help="LLM on this many requests")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "intent_bench"))
    ap.add_argument("--rescore", action="store_true",
                    help="score the recorded raw answers again (no model run; the default "
                    "without --llm/--adapter)")
    ap.add_argument("--adapter", default=None, metavar="shipped|PATH",
                    help="run the embedded model with this intent adapter on every request "
                    "(languages interleaved, so that an interrupted run is a stratified "
                    "subset; re-running resumes after the recorded answers)")
    ap.add_argument("--fresh", action="store_true", help="with --adapter: start over")
    ap.add_argument("--shard", default="0/1", metavar="K/N",
                    help="with --adapter: run the K-th of N interleaved shares (N processes "
                    "append to the same raw file; score them after with no --adapter)")
    ap.add_argument("--render", action="store_true",
                    help="only rewrite the markdown from the JSON at --out")
    args = ap.parse_args()
    if args.render:
        r = json.loads(Path(args.out + ".json").read_text())
        Path(args.out + ".md").write_text(markdown(r))
        return
    rows = [json.loads(x) for x in (HERE / "data" / "intent_eval.jsonl").read_text().splitlines()]
    bad = [json.loads(x) for x in (HERE / "data" / "intent_bad.jsonl").read_text().splitlines()]
    nets = networks({r["network"] for r in rows} | {b["network"] for b in bad})
    load_before = list(os.getloadavg())
    per: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for r in rows:
        net = nets[r["network"]]
        gold, gold_un = gold_intent(r)
        try:
            parsed: PlanningIntent | None = parse_baseline(r["text"], net)
            err = None
        except CelltwinError as exc:
            parsed, err = None, str(exc)
        per.append({"id": r["id"], "lang": r["lang"], "network": r["network"],
                    "baseline": score(parsed, gold, gold_un, net), "baseline_error": err,
                    "baseline_intent": None if parsed is None else parsed.fields_json()})
    t_base = time.perf_counter() - t0
    refused = {}
    for b in bad:
        try:
            parse_baseline(b["text"], nets[b["network"]])
            refused[b["id"]] = None
        except CelltwinError as exc:
            refused[b["id"]] = str(exc)[:160]
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": round(memory_gib(), 1),
                    "load_before": load_before},
        "n_requests": len(rows), "languages": sorted({r["lang"] for r in rows}),
        "networks": sorted(nets),
        "baseline": {"all_requests": summarise([p["baseline"] for p in per]),
                     "by_language": {lang: summarise([p["baseline"] for p in per
                                                      if p["lang"] == lang])
                                     for lang in sorted({r["lang"] for r in rows})},
                     "seconds_total": round(t_base, 3)},
        "bad_input": {"n": len(bad), "refused": sum(v is not None for v in refused.values()),
                      "messages": refused},
    }
    if not args.llm and Path(args.out + "_llm_raw.jsonl").exists():
        rescore(args, rows, nets, per, result)
    if args.adapter:
        run_adapter(args, rows, nets, per, result)
    elif Path(args.out + "_adapter_raw.jsonl").exists():
        adapter_scores(args, rows, nets, per, result)
    if args.llm:
        from planner.intent.llm_parser import LLMIntentParser

        parser = LLMIntentParser(args.llm, n_threads=args.threads)
        sub = stratified(rows, args.limit or len(rows))
        by_id = {p["id"]: p for p in per}
        raw_path = Path(args.out + "_llm_raw.jsonl")
        secs = []
        with raw_path.open("w") as fh:
            for r in sub:
                net = nets[r["network"]]
                gold, gold_un = gold_intent(r)
                res = parser.parse(r["text"], net)
                secs.append(res.seconds)
                rec = by_id[r["id"]]
                rec["llm_only"] = score(res.llm_only, gold, gold_un, net)
                rec["llm_merged"] = score(res.intent, gold, gold_un, net)
                rec["llm_taken"] = res.taken
                fh.write(json.dumps({"id": r["id"], "raw": res.raw, "seconds": res.seconds,
                                     "taken": res.taken}) + "\n")
                fh.flush()
                print(f"{r['id']} {res.seconds:.1f}s taken={res.taken}", flush=True)
                done = [x for x in sub if "llm_only" in by_id[x["id"]]]
                result["llm"] = llm_summary(parser.llm.info.to_json(), args.threads, done,
                                            by_id, secs)
                write(result, per, args.out)  # partial results survive an interrupted run
    write(result, per, args.out)
    print(markdown(result))


def interleaved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests with the languages in turn (each language in file order)."""
    by_lang: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_lang.setdefault(r["lang"], []).append(r)
    out: list[dict[str, Any]] = []
    queues = [list(v) for _, v in sorted(by_lang.items())]
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


def run_adapter(args: argparse.Namespace, rows: list[dict[str, Any]], nets: dict[str, Network],
                per: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """The embedded model with the adapter on every request not yet recorded; the raw
    answers are appended to ``*_adapter_raw.jsonl`` and scored by :func:`adapter_scores`."""
    from planner.intent.llm_parser import LLMIntentParser

    raw_path = Path(args.out + "_adapter_raw.jsonl")
    if args.fresh and raw_path.exists():
        raw_path.unlink()
    done = set()
    if raw_path.exists():
        done = {json.loads(x)["id"] for x in raw_path.read_text().splitlines() if x.strip()}
    parser = LLMIntentParser("embedded", n_threads=args.threads, adapter=args.adapter)
    assert parser.llm.adapter is not None, "no adapter found"
    meta = {"model": parser.llm.info.to_json(), "adapter": parser.llm.adapter.to_json(),
            "threads": args.threads}
    meta["adapter"].pop("path", None)
    meta["model"].pop("path", None)  # a local path says nothing about the result
    Path(args.out + "_adapter_meta.json").write_text(json.dumps(meta, indent=1))
    k, n = (int(x) for x in args.shard.split("/"))
    todo = [r for r in interleaved(rows)[k::n] if r["id"] not in done]
    if args.limit:
        todo = todo[:max(0, args.limit - len(done))]
    with raw_path.open("a") as fh:
        for r in todo:
            res = parser.parse(r["text"], nets[r["network"]])
            fh.write(json.dumps({"id": r["id"], "raw": res.raw, "seconds": res.seconds,
                                 "load": list(os.getloadavg())}) + "\n")
            fh.flush()
            print(f"{r['id']} {res.seconds:.1f}s", flush=True)
            adapter_scores(args, rows, nets, per, result)
            write(result, per, args.out)  # partial results survive an interrupted run
    adapter_scores(args, rows, nets, per, result)


def adapter_scores(args: argparse.Namespace, rows: list[dict[str, Any]],
                   nets: dict[str, Network], per: list[dict[str, Any]],
                   result: dict[str, Any]) -> None:
    """Score the adapter's recorded answers alone and merged with the baseline by each rule
    (``planner.intent.llm_parser.MERGE_RULES``); ``shipped`` is the parser's rule."""
    from planner.intent.llm_parser import (
        DEFAULT_ADAPTER,
        MERGE_RULES,
        SHIPPED_RULE,
        answer_model,
        intents_from_raw,
    )

    raws = [json.loads(x) for x in Path(args.out + "_adapter_raw.jsonl").read_text()
            .splitlines() if x.strip()]
    meta_path = Path(args.out + "_adapter_meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    by_row = {r["id"]: r for r in rows}
    by_id = {p["id"]: p for p in per}
    for rec in raws:
        r = by_row[rec["id"]]
        net = nets[r["network"]]
        gold, gold_un = gold_intent(r)
        model = answer_model(tuple(net.cells["cell_id"].astype(str)),
                             tuple(net.sites["site_id"].astype(str)))
        p = by_id[rec["id"]]
        for rule in MERGE_RULES:
            merged, alone, taken = intents_from_raw(rec["raw"], r["text"], net,
                                                    PlanningIntent(), model, rule=rule)
            p[f"adapter_{rule}"] = score(merged, gold, gold_un, net)
            p[f"adapter_{rule}_taken"] = taken
        p["adapter_alone"] = score(alone, gold, gold_un, net)
        p["adapter_alone_intent"] = alone.fields_json()
        p["adapter_raw"] = rec["raw"]
    ids = sorted(rec["id"] for rec in raws)
    secs = [rec["seconds"] for rec in raws]
    langs = sorted({by_row[i]["lang"] for i in ids})
    result["adapter"] = {
        **meta, "n": len(ids), "subset_ids": ids if len(ids) < len(rows) else "all",
        "shipped_rule": SHIPPED_RULE, "default_adapter": DEFAULT_ADAPTER,
        "baseline_on_subset": summarise([by_id[i]["baseline"] for i in ids]),
        "adapter_alone": summarise([by_id[i]["adapter_alone"] for i in ids]),
        **{f"adapter_{rule}": summarise([by_id[i][f"adapter_{rule}"] for i in ids])
           for rule in MERGE_RULES},
        "by_language": {lang: {k: summarise([by_id[i][k] for i in ids
                                              if by_row[i]["lang"] == lang])
                               for k in ("baseline", "adapter_alone",
                                         f"adapter_{SHIPPED_RULE}")} for lang in langs},
        "seconds_per_request": {"mean": round(sum(secs) / max(1, len(secs)), 2),
                                "max": round(max(secs, default=0.0), 2)},
        "load_during": [raws[0].get("load"), raws[-1].get("load")] if raws else None,
    }


def rescore(args: argparse.Namespace, rows: list[dict[str, Any]], nets: dict[str, Network],
            per: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """Score the raw answers of an earlier ``--llm`` run (greedy decoding: the same answers
    a new run would give) with the current salvage and merge rules."""
    from planner.intent.llm_parser import answer_model, intents_from_raw

    old = json.loads(Path(args.out + ".json").read_text()).get("llm", {})
    raws = [json.loads(x) for x in Path(args.out + "_llm_raw.jsonl").read_text().splitlines()]
    by_row = {r["id"]: r for r in rows}
    by_id = {p["id"]: p for p in per}
    secs = []
    for rec in raws:
        r = by_row[rec["id"]]
        net = nets[r["network"]]
        gold, gold_un = gold_intent(r)
        model = answer_model(tuple(net.cells["cell_id"].astype(str)),
                             tuple(net.sites["site_id"].astype(str)))
        merged, llm_only, taken = intents_from_raw(rec["raw"], r["text"], net,
                                                   PlanningIntent(), model)
        p = by_id[rec["id"]]
        p["llm_only"] = score(llm_only, gold, gold_un, net)
        p["llm_merged"] = score(merged, gold, gold_un, net)
        p["llm_taken"] = taken
        p["llm_raw"] = rec["raw"]
        secs.append(rec["seconds"])

    result["llm"] = llm_summary(old.get("model", {}), int(old.get("threads", args.threads)),
                                [by_row[x["id"]] for x in raws], by_id, secs)
    result["llm"]["load_after"] = old.get("load_after", result["llm"]["load_after"])
    result["llm"]["rescored"] = True


def llm_summary(model_info: dict[str, Any], threads: int, sub: list[dict[str, Any]],
                by_id: dict[str, Any], secs: list[float]) -> dict[str, Any]:
    ids = sorted(r["id"] for r in sub)
    return {
        "model": model_info, "threads": threads, "subset_ids": ids,
        "baseline_on_subset": summarise([by_id[i]["baseline"] for i in ids]),
        "llm_zero_shot": summarise([by_id[i]["llm_only"] for i in ids]),
        "llm_plus_baseline": summarise([by_id[i]["llm_merged"] for i in ids]),
        "fields_taken_from_llm": sorted({f for i in ids for f in by_id[i]["llm_taken"]}),
        "seconds_per_request": {"mean": round(sum(secs) / len(secs), 2),
                                "max": round(max(secs), 2)},
        "load_after": list(os.getloadavg()),
    }


def write(result: dict[str, Any], per: list[dict[str, Any]], out: str) -> None:
    full = {**result, "per_request": per}
    Path(out + ".json").write_text(json.dumps(full, indent=1, ensure_ascii=False) + "\n")
    Path(out + ".md").write_text(markdown(result))


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    cols = (*FIELDS, "all", "plan_equivalent")
    head = "| parser | n | " + " | ".join(cols) + " |\n|---|---|" + "---|" * len(cols) + "\n"

    def row(name: str, s: dict[str, float]) -> str:
        return f"| {name} | {s['n']} | " + " | ".join(f"{s[c]:.2f}" for c in cols) + " |\n"

    out = [f"# Intent parsing benchmark ({r['date']})\n\n",
           f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; load average "
           f"before: {m['load_before']}.\n\n",
           f"{r['n_requests']} held-out requests (languages {', '.join(r['languages'])}; "
           f"networks {', '.join(r['networks'])}), gold intents written by hand "
           "(bench/data/make_intent_eval.py). Per-field exact match; *plan_equivalent*: the "
           "same mapped planning options as the gold intent (or both report an unmatched "
           "item); the plans themselves are not run.\n\n", "## Baseline (regex/keyword)\n\n",
           head, row("baseline, all", r["baseline"]["all_requests"])]
    for lang, s in r["baseline"]["by_language"].items():
        out.append(row(f"baseline, {lang}", s))
    out.append(f"\nBaseline time for all requests: {r['baseline']['seconds_total']:.2f} s.\n\n")
    b = r["bad_input"]
    out.append(f"Bad input (empty, > 2000 characters, injection in en/it/de): {b['refused']} of "
               f"{b['n']} refused with a message (the text guard runs before any model: "
               "the same with the adapter, tests/planner/test_intent_adapter_path.py).\n")
    if "llm" in r:
        L = r["llm"]
        out += [f"\n## LLM: {L['model']['name']}, zero-shot, {L['threads']} threads\n\n",
                f"On a stratified subset of {len(L['subset_ids'])} requests (the machine's "
                "speed allowed no more; see below).\n\n", head,
                row("baseline (same subset)", L["baseline_on_subset"]),
                row("LLM zero-shot alone", L["llm_zero_shot"]),
                row("LLM + baseline (merged)", L["llm_plus_baseline"]),
                f"\nSeconds per request: mean {L['seconds_per_request']['mean']}, max "
                f"{L['seconds_per_request']['max']}; load average after: {L['load_after']}.\n"]
    if "adapter" in r:
        A = r["adapter"]
        ad = A.get("adapter", {})
        shipped = f"adapter_{A['shipped_rule']}"
        out += [f"\n## Trained LoRA adapter ({ad.get('name', '?')}, sha256 "
                f"{str(ad.get('sha256', ''))[:16]}...) on {A.get('model', {}).get('name', '?')}"
                f", {A.get('threads', '?')} thread(s)\n\n",
                f"{A['n']} of {r['n_requests']} requests"
                + (" (all)" if A["n"] == r["n_requests"] else
                   " (languages interleaved in file order: the run stopped there)") + ".\n\n",
                head, row("baseline (same requests)", A["baseline_on_subset"]),
                row("adapter alone", A["adapter_alone"]),
                row("adapter + baseline, baseline_first", A["adapter_baseline_first"]),
                row("adapter + baseline, llm_first", A["adapter_llm_first"]),
                f"\nWith the adapter, answers join the baseline by `{A['shipped_rule']}` (the "
                f"`{shipped}` row); `--ask` loads it only with `--ask-adapter shipped` (the "
                f"default adapter is `{A.get('default_adapter', '?')}`).\n\n",
                "By language (plan_equivalent): " + "; ".join(
                    f"{lang} n={v['baseline']['n']}: baseline "
                    f"{v['baseline']['plan_equivalent']:.2f}, adapter alone "
                    f"{v['adapter_alone']['plan_equivalent']:.2f}, adapter + baseline "
                    f"{v[shipped]['plan_equivalent']:.2f}"
                    for lang, v in A["by_language"].items()) + ".\n\n",
                f"Seconds per request: mean {A['seconds_per_request']['mean']}, max "
                f"{A['seconds_per_request']['max']}; load average at the first and last "
                f"request: {A['load_during']}.\n"]
    out.append(NOTES)
    return "".join(out)


NOTES = """
## Reading these numbers

- The requests and their gold intents were written by the same person who wrote the
  baseline's word lists, after writing them; the baseline was not tuned on the set afterwards,
  but its score is optimistic for requests written by someone else. Its misses are typical:
  a landmark named without a verb ("stadium cells, Sunday"), German compounds
  ("Samstagabend"), a hospital whose name holds no hospital word ("Policlinico"), typos,
  numbers in words ("forty thousand").
- *plan_equivalent* compares the planning options the intents map to (target, budget, most
  actions, hours, allowed kinds, protected cells, the cells and candidate sites of the area);
  plans are not run per request (identical options give the identical plan).
- The LLM rows come from a stratified subset: on this shared 2-core machine (load average
  5-13 from other work) one request took 20-250 s (160 tokens under the grammar; ~20 s once
  the load fell), against a few seconds on an idle machine (`bench/results/llm_bench.md`:
  66 tokens/s). The answers are greedy, so `--rescore` scores the recorded raw answers
  (`intent_bench_llm_raw.jsonl`) again without the model; an answer cut at 160 tokens keeps
  the fields it completed.
- *LLM zero-shot alone* is the model's own answer (the grammar keeps it inside the network's
  ids and bounds, so it is always valid, rarely right); *LLM + baseline* keeps the baseline's
  fields and takes an LLM value only with evidence in the sentence (docs/intents.md).
- *Trained LoRA adapter*: the embedded model with `planner/intent/adapter/intent_lora.gguf`
  (trained on template-generated requests over generated `train-<seed>` networks, seeds and
  names disjoint from this set's; card `intent_lora.json`), prompted with the compact prompt
  it was trained on; *adapter alone* is its own answer, *baseline_first* keeps the
  baseline's fields and takes the adapter's only where the baseline left a default,
  *llm_first* takes every adapter value the sentence holds evidence for (both rules keep the
  baseline's unmatched items: the grammar cannot say that something is missing).
"""


if __name__ == "__main__":
    main()
