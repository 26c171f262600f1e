"""Benchmark of the LLM proposer: generation speed under three decoding regimes, and what its
candidates add to a plan.

Usage::

    .venv/bin/python bench/llm_bench.py            # writes bench/results/llm_bench.{md,json}
    .venv/bin/python bench/llm_bench.py --quick    # speed + hotspot only
    .venv/bin/python bench/llm_bench.py --model PATH.gguf

1. Speed (one hotspot digest, the narrowed proposal schema, greedy, ``max_tokens`` bound):
   * ``guidance`` - guidance 0.3 + llguidance enforcing the JSON schema token by token (what
     the product uses);
   * ``unconstrained`` - plain llama-cpp-python completion of the same prompt;
   * ``llama.cpp grammar`` - llama-cpp-python's ``LlamaGrammar.from_json_schema`` (GBNF).
   Per regime: seconds per round, generated tokens, tokens/s, whether the answer parses as
   JSON and validates against the narrowed schema (ids and bounds).
2. Plan quality on hotspot, milan (target 0.8) and generated hotspot variants: candidates from
   the systematic generator only, the LLM only, and both; verified peak, cost, wall time and
   what-ifs evaluated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from planner_bench import machine, scenario  # noqa: E402

from actions.costs import load_costs  # noqa: E402
from planner.executors import make_executor  # noqa: E402
from planner.llm.closed_loop import LLMCandidateProposer  # noqa: E402
from planner.llm.digest import build_digest  # noqa: E402
from planner.llm.proposer import LLMProposer  # noqa: E402
from planner.loop import PlannerSettings, plan_network  # noqa: E402
from policies import load_policy  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGETS = {"milan": 0.8}


def speed(model: str | None, repeats: int, max_tokens: int) -> list[dict[str, Any]]:
    from llama_cpp import Llama, LlamaGrammar

    sc = scenario("hotspot")
    st = sc.twin().run()
    catalogue, policy = load_costs(None), load_policy(None)
    llm = LLMProposer(model, max_tokens=max_tokens)
    adapter = LLMCandidateProposer(llm, catalogue, policy)
    space = adapter.space_for(sc.network, st)
    prompt = build_digest(sc.network, st, space, catalogue, 0.5, 100_000)
    from planner.llm.grammar import proposal_model, to_actions

    schema = proposal_model(space).model_json_schema()
    rows: list[dict[str, Any]] = []

    def valid(text: str) -> tuple[bool, bool]:
        try:
            parsed = json.loads(text)
        except ValueError:
            return False, False
        try:
            to_actions(parsed, space)
            return True, True
        except Exception:  # any refusal counts as invalid
            return True, False

    for _ in range(repeats):  # guidance (warm after the first)
        r = llm.propose(prompt, space)
        ok_json, ok_schema = valid(r.raw)
        rows.append({"regime": "guidance", "seconds": r.seconds, "tokens": r.output_tokens,
                     "prompt_tokens": r.prompt_tokens, "json": ok_json, "schema": ok_schema})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        plain = Llama(str(llm.info.path), n_ctx=llm.n_ctx, n_threads=llm.n_threads,
                      verbose=False, seed=0)
    t = time.perf_counter()
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    compile_s = time.perf_counter() - t
    for regime, g in (("unconstrained", None), ("llama.cpp grammar", grammar)):
        for _ in range(repeats):
            t = time.perf_counter()
            out = plain(prompt, max_tokens=max_tokens, temperature=0.0, grammar=g)
            secs = time.perf_counter() - t
            text = out["choices"][0]["text"]
            ok_json, ok_schema = valid(text)
            rows.append({"regime": regime, "seconds": secs,
                         "tokens": out["usage"]["completion_tokens"],
                         "prompt_tokens": out["usage"]["prompt_tokens"], "json": ok_json,
                         "schema": ok_schema,
                         **({"grammar_compile_s": compile_s} if g is not None else {})})
    plain.close()  # freed now, not by Llama.__del__ at interpreter shutdown
    for r in rows:
        r["tokens_per_s"] = r["tokens"] / r["seconds"] if r["seconds"] > 0 else None
    return rows


def quality(names: list[str], model: str | None) -> list[dict[str, Any]]:
    catalogue, policy = load_costs(None), load_policy(None)
    llm = LLMProposer(model)
    rows = []
    for name in names:
        sc = scenario(name)
        target = TARGETS.get(name, 0.5)
        for mode in ("systematic", "llm", "both"):
            proposer = None if mode == "systematic" else LLMCandidateProposer(llm, catalogue,
                                                                              policy)
            settings = PlannerSettings(target=target, systematic=mode != "llm")
            ex = make_executor(None, None)
            t = time.perf_counter()
            try:
                plan = plan_network(sc.twin(), catalogue, settings, ex, policy, proposer,
                                    scenario=name)
            finally:
                ex.close()
            wall = time.perf_counter() - t
            prov = plan.provenance.get("llm", {})
            rows.append({
                "scenario": name, "candidates": mode, "target": target,
                "peak_before": plan.peak_before, "peak_after": plan.peak_after,
                "verified": plan.verified, "cost_eur": plan.total_cost,
                "n_actions": len(plan.actions), "what_ifs": plan.what_ifs,
                "n_candidates": plan.candidates.get("n"),
                "llm_proposals": prov.get("n_proposed"), "llm_selected": prov.get("n_selected"),
                "llm_seconds": sum(r["seconds"] for r in prov.get("rounds", [])),
                "wall_s": wall})
            print(f"{name:12} {mode:10} peak {plan.peak_before:.3f} -> {plan.peak_after:.3f} "
                  f"verified={plan.verified} cost {plan.total_cost:,.0f} what-ifs "
                  f"{plan.what_ifs} {wall:.1f} s", flush=True)
    return rows


def markdown(info: dict[str, Any], sp: list[dict[str, Any]], q: list[dict[str, Any]]) -> str:
    lines = [f"# LLM proposer benchmark ({info['date']})", "",
             f"Machine: {info['machine']['cpu']}, {info['machine']['cores']} cores, "
             f"{info['machine']['memory']}; load average before: {info['loadavg']}.",
             f"Model: {info['model']['name']} (sha256 {info['model']['sha256'][:16]}...), "
             f"{info['threads']} threads.", "",
             "## Speed: one proposal round on the hotspot digest", "",
             "| regime | seconds | tokens | tokens/s | valid JSON | valid for the narrowed schema |",
             "|---|---|---|---|---|---|"]
    for r in sp:
        lines.append(f"| {r['regime']} | {r['seconds']:.2f} | {r['tokens']} | "
                     f"{r['tokens_per_s']:.1f} | {r['json']} | {r['schema']} |")
    if q:
        lines += ["", "## Plan quality: where the candidates come from", "",
                  "| scenario | candidates | peak before | peak after | verified | cost EUR | "
                  "actions | what-ifs | LLM proposals (selected) | LLM s | wall s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in q:
            llm = ("-" if r["llm_proposals"] is None
                   else f"{r['llm_proposals']} ({r['llm_selected']})")
            lines.append(f"| {r['scenario']} | {r['candidates']} | {r['peak_before']:.3f} | "
                         f"{r['peak_after']:.3f} | {r['verified']} | {r['cost_eur']:,.0f} | "
                         f"{r['n_actions']} | {r['what_ifs']} | {llm} | {r['llm_seconds']:.1f} "
                         f"| {r['wall_s']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--model", default=None, help="GGUF path (default: the embedded model)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=420)
    ap.add_argument("--scenarios", nargs="*",
                    default=["hotspot", "milan", "hotspot-v1", "hotspot-v2", "hotspot-v3"])
    a = ap.parse_args()
    info = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(), "loadavg": [round(x, 2) for x in os.getloadavg()]}
    sp = speed(a.model, a.repeats, a.max_tokens)
    for r in sp:
        print(f"{r['regime']:18} {r['seconds']:6.2f} s {r['tokens']:4} tokens "
              f"{r['tokens_per_s']:6.1f} tok/s json={r['json']} schema={r['schema']}",
              flush=True)
    q = quality(["hotspot"] if a.quick else a.scenarios, a.model)
    llm = LLMProposer(a.model)
    info.update({"model": llm.info.to_json(), "threads": llm.n_threads,
                 "max_tokens": a.max_tokens, "loadavg_after": [round(x, 2)
                                                               for x in os.getloadavg()]})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "llm_bench.json").write_text(json.dumps({"info": info, "speed": sp,
                                                        "quality": q}, indent=2))
    (RESULTS / "llm_bench.md").write_text(markdown(info, sp, q))
    print(f"wrote {RESULTS / 'llm_bench.md'}")


if __name__ == "__main__":
    main()
