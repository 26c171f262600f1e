"""Benchmark of the planner against baselines, and of what-if throughput.

Usage::

    .venv/bin/python bench/planner_bench.py             # all scenarios, writes bench/results/planner_bench.*
    .venv/bin/python bench/planner_bench.py --quick     # hotspot only
    .venv/bin/python bench/planner_bench.py --scenarios hotspot hotspot-v1

Scenarios: ``hotspot``, ``milan`` and the generated variants ``hotspot-v1..v3``
(:mod:`twin.scenarios.hotspot_variants`). Targets: 0.5 for the hotspot family; 0.8 for milan
(the default policy's congestion cap: at 0.5, 18 of its 400 cells would be hot and the greedy
baseline alone would need thousands of what-ifs). Budget: the planner's default, 100 kEUR.

Methods, all choosing among the same systematic candidates (priced, affordable alone) and all
judged by the twin's verified peak of the whole plan:

* ``milp loop`` - the planner (``plan_network``: MILP, verify, re-linearise; <= 5 rounds);
* ``milp 1 pass`` - the MILP once on the sensitivities around the unchanged network, verified
  once (what the loop adds is the difference);
* ``greedy`` - best single action at a time until the target is met or nothing helps;
* ``random`` - best of as many random feasible plans as the loop used what-ifs;
* ``exhaustive k=12`` - every feasible subset of the 12 strongest candidates under the linear
  model (the MILP on the same 12 must reach the same objective, up to the 1e-4 of the
  coefficients it drops as fixed-point noise), its optimum verified once.

What-if throughput: single-action what-ifs (the first 40 systematic candidates on hotspot) on
one process (per core) and on the local process pool (all cores).

Also timed: the command ``celltwin plan --scenario hotspot --llm none --json`` end to end in a
fresh process (Python start, scenario load and calibration included).

Issue 14's cases, with the shipped default policy: the generated event networks where the
right answer is a small cell or a tilt (``bench/planner_cases.py``, 4 evaluation seeds each)
and the OpenCelliD Munich import (``bench/planner_imports.py``, 1,511 cells, local what-ifs).
``--cases`` / ``--imports`` run only those (writing ``planner_cases.*`` /
``planner_imports.*``); ``--no-cases`` / ``--no-imports`` leave them out of the full run;
``--imports-from FILE`` takes the import rows from an earlier ``--imports`` run's JSON instead
of planning Munich again (about 15-25 min on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from machine_info import cpu_model, memory_gib  # noqa: E402

from actions.costs import load_costs  # noqa: E402
from planner.baselines import exhaustive_linear, greedy, random_feasible  # noqa: E402
from planner.candidates import generate_candidates  # noqa: E402
from planner.executors import LocalExecutor, SerialExecutor, available_cores  # noqa: E402
from planner.loop import PlannerSettings, _affordable, plan_network  # noqa: E402
from planner.milp import MilpSettings  # noqa: E402
from planner.plan import DEFAULT_BUDGET_EUR  # noqa: E402
from planner.sensitivity import linearise  # noqa: E402
from planner.whatif import WhatIfContext, WhatIfJob  # noqa: E402
from twin.scenarios import Scenario, load_scenario  # noqa: E402
from twin.scenarios.hotspot_variants import build_variant  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SCENARIOS = ("hotspot", "milan", "hotspot-v1", "hotspot-v2", "hotspot-v3")
TARGETS = {"milan": 0.8}


def machine() -> dict[str, Any]:
    cpu, mem = cpu_model(), f"{memory_gib():.1f} GiB"
    import pandas
    import pulp
    import scipy
    return {"cpu": cpu, "cores": available_cores(), "memory": mem,
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "pandas": pandas.__version__, "pulp": pulp.__version__,
            "platform": platform.platform()}


def scenario(name: str) -> Scenario:
    if name.startswith("hotspot-v"):
        return build_variant(int(name.removeprefix("hotspot-v")))
    return load_scenario(name)


def whatif_throughput(sc: Scenario, n: int = 40) -> dict[str, Any]:
    tw = sc.twin()
    st = tw.run()
    items, _ = generate_candidates(tw, [st], 0.5, load_costs())
    ctx = WhatIfContext.of(tw)
    hours = (sc.demand.busy_hour,)
    jobs = [WhatIfJob((c.action,), hours, tuple(tw.network.cell_ids),
                      np.asarray(st.prb_util)[None, :]) for c in items[:n]]
    out: dict[str, Any] = {"n": len(jobs)}
    ser = SerialExecutor()
    ser.map(ctx, jobs[:2])  # the per-process twin memo, as a worker has after its first job
    t0 = time.perf_counter()
    res = ser.map(ctx, jobs)
    wall = time.perf_counter() - t0
    out["serial_per_s"] = len(jobs) / wall
    out["serial_mean_job_s"] = float(np.mean([r.seconds for r in res]))
    kinds: dict[str, list[float]] = {}
    for j, r in zip(jobs, res, strict=True):
        kinds.setdefault(j.actions[0].kind, []).append(r.seconds)
    out["mean_job_s_by_kind"] = {k: float(np.mean(v)) for k, v in kinds.items()}
    pool = LocalExecutor()
    try:
        pool.map(ctx, jobs[:pool.n_workers * 2])  # start the workers
        t0 = time.perf_counter()
        pool.map(ctx, jobs)
        wall = time.perf_counter() - t0
    finally:
        pool.close()
    out["pool_workers"] = pool.n_workers
    out["pool_per_s"] = len(jobs) / wall
    out["pool_per_s_per_core"] = len(jobs) / wall / pool.n_workers
    return out


def cli_time(name: str = "hotspot") -> dict[str, Any]:
    cmd = [sys.executable, "-m", "cli", "plan", "--scenario", name, "--llm", "none",
           "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"command": " ".join(cmd[1:]), "wall_s": wall, "rc": proc.returncode}
    if proc.returncode == 0:
        j = json.loads(proc.stdout)
        out.update({"peak_before": j["before"]["peak_prb_util"],
                    "peak_after": j["after"]["peak_prb_util"],
                    "jain_before": j["before"]["jain_index"],
                    "jain_after": j["after"]["jain_index"], "total_cost": j["total_cost"],
                    "verified": j["verified"], "iterations": j["iterations"],
                    "what_ifs": j["what_ifs"], "lower_bound": j["lower_bound"]["peak_prb_util"],
                    "policy_passed": j["policy"]["passed"], "timings_s": j["timings_s"],
                    "actions": [a["description"] for a in j["actions"]]})
    else:
        out["stderr"] = proc.stderr[-2000:]
    return out


def bench_scenario(name: str, ex: LocalExecutor) -> dict[str, Any]:
    load_scenario.cache_clear()  # time the build, not the cache
    t0 = time.perf_counter()
    sc = scenario(name)
    t_load = time.perf_counter() - t0
    target = TARGETS.get(name, 0.5)
    budget = DEFAULT_BUDGET_EUR
    cat = load_costs()
    rows: list[dict[str, Any]] = []
    out: dict[str, Any] = {"scenario": name, "target": target, "budget": budget,
                           "n_cells": len(sc.network.cells),
                           "n_candidate_sites": len(sc.network.candidates),
                           "build_s": t_load, "methods": rows}
    with tempfile.TemporaryDirectory() as lp:
        for label, iters in (("milp loop", 5), ("milp 1 pass", 1)):
            tw = sc.twin()
            t0 = time.perf_counter()
            plan = plan_network(tw, cat, PlannerSettings(target=target, budget_eur=budget,
                                                         max_iterations=iters, lp_dir=lp), ex)
            wall = time.perf_counter() - t0
            j = plan.to_json()
            rows.append({"method": label, "peak": plan.peak_after, "cost": plan.total_cost,
                         "seconds": wall, "what_ifs": plan.what_ifs,
                         "met": bool(plan.target_met), "n_actions": len(plan.actions),
                         "jain_after": j["after"]["jain_index"],
                         "iterations": plan.iterations,
                         "lower_bound": plan.lower_bound.get("peak_prb_util"),
                         "policy_passed": plan.policy.get("passed"),
                         "actions": [a["description"] for a in j["actions"]]})
            if iters == 5:
                out["peak_before"] = plan.peak_before
                out["jain_before"] = j["before"]["jain_index"]
                out["n_candidates"] = j["candidates"]["n"]
                loop_whatifs = plan.what_ifs
    # Baselines on the same first-round candidates.
    tw = sc.twin()
    hours = (sc.demand.busy_hour,)
    st = tw.run()
    settings = PlannerSettings(target=target, budget_eur=budget)
    items, _ = generate_candidates(tw, [st], target, cat)
    items = _affordable(items, settings)
    ctx = WhatIfContext.of(tw)
    t0 = time.perf_counter()
    lin = linearise(ctx, items, hours, ex)
    t_lin = time.perf_counter() - t0
    g = greedy(ctx, items, hours, ex, budget, target, settings.max_actions)
    r = random_feasible(ctx, items, hours, ex, budget, target, max(20, loop_whatifs),
                        settings.max_actions, seed=1)
    ms = MilpSettings(budget_eur=budget, max_actions=settings.max_actions,
                      aim=target - settings.margin, cost_weight=settings.cost_weight,
                      balance_weight=settings.balance_weight)
    t0 = time.perf_counter()
    exh = exhaustive_linear(lin, items, ms, len(tw.network.cells), k=12)
    res = ex.map(ctx, [WhatIfJob(tuple(items[i].action for i in exh["exhaustive_chosen"]),
                                 hours)])[0]
    t_exh = time.perf_counter() - t0 + t_lin
    exh_peak = float(np.max(res.util))
    for b in (g, r):
        rows.append({"method": b.name, "peak": b.peak, "cost": b.cost_eur, "seconds": b.seconds,
                     "what_ifs": b.what_ifs, "met": b.peak <= target,
                     "n_actions": len(b.chosen),
                     "actions": [items[i].key for i in b.chosen], **b.details})
    exh_cost = float(sum(items[i].cost.total_eur for i in exh["exhaustive_chosen"]))
    rows.append({"method": "exhaustive k=12", "peak": exh_peak, "cost": exh_cost,
                 "seconds": t_exh, "what_ifs": lin.n_whatifs + 1, "met": exh_peak <= target,
                 "n_actions": len(exh["exhaustive_chosen"]), "actions": exh["exhaustive_plan"],
                 "milp_same_objective": exh["same_objective"],
                 "exhaustive_objective": exh["exhaustive_objective"],
                 "milp_objective": exh["milp_objective"],
                 "subsets_feasible": exh["subsets_feasible"]})
    return out


def fmt(v: Any, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def write_markdown(res: dict[str, Any], path: Path) -> None:
    m = res["machine"]
    lines = ["# Planner benchmark", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; Python {m['python']}, "
             f"numpy {m['numpy']}, scipy {m['scipy']}, pandas {m['pandas']}, PuLP {m['pulp']} "
             f"(CBC); {res['date']}. Load average (1, 5, 15 min) at start "
             f"{res['load_start']}, at end {res['load_end']}; the machine is shared with other "
             "work, so wall times are upper bounds.", "",
             "Every peak is the twin's **verified** busy-hour peak PRB utilisation of the whole "
             "plan (all actions at once). Budget 100 kEUR, at most 10 actions. What-ifs = twin "
             "runs of a changed network. `milp loop` is the loop of `celltwin plan` (MILP on "
             "twin sensitivities, verify, re-linearise); the others are baselines on the same "
             "systematic candidates (see bench/planner_bench.py). The table runs without "
             "policy rules, as the baselines know none; the command above gates with the "
             "shipped default policy.", ""]
    cli = res.get("cli")
    if cli:
        lines += ["## `celltwin plan --scenario hotspot --llm none --json`", ""]
        if cli.get("rc") == 0:
            lines += [f"- wall time (fresh process, scenario build included): "
                      f"**{cli['wall_s']:.1f} s** (target < 30 s)",
                      f"- peak {cli['peak_before']:.3f} -> **{cli['peak_after']:.3f}** "
                      f"(target 0.50), lower bound (LP relaxation of the model) "
                      f"{fmt(cli['lower_bound'])}",
                      f"- Jain index {cli['jain_before']:.3f} -> {cli['jain_after']:.3f}",
                      f"- cost {cli['total_cost']:,.0f} EUR, {len(cli['actions'])} actions, "
                      f"verified {fmt(cli['verified'])}, policy passed "
                      f"{fmt(cli['policy_passed'])}, {cli['iterations']} round(s), "
                      f"{cli['what_ifs']} what-ifs",
                      "- actions: " + "; ".join(cli["actions"]),
                      "- stages (s): " + ", ".join(f"{k} {v:.2f}"
                                                   for k, v in cli["timings_s"].items()), ""]
        else:
            lines += [f"failed (rc {cli['rc']}): {cli.get('stderr', '')}", ""]
    w = res.get("whatif")
    if w:
        lines += ["## What-if throughput (hotspot, single-action what-ifs)", "",
                  f"- one process: **{w['serial_per_s']:.1f} what-ifs/s per core** (target >= "
                  f"20), mean job {w['serial_mean_job_s'] * 1000:.0f} ms",
                  f"- process pool of {w['pool_workers']}: {w['pool_per_s']:.1f} what-ifs/s "
                  f"({w['pool_per_s_per_core']:.1f} per core)",
                  "- mean job by kind (ms): " + ", ".join(
                      f"{k} {v * 1000:.0f}" for k, v in w["mean_job_s_by_kind"].items()), ""]
    lines += ["## Methods", "",
              "| scenario | target | method | verified peak | met | cost EUR | actions | "
              "wall s | what-ifs |", "|---|---|---|---|---|---|---|---|---|"]
    for sc in res["scenarios"]:
        for r in sc["methods"]:
            lines.append(f"| {sc['scenario']} | {sc['target']} | {r['method']} | "
                         f"{r['peak']:.3f} | {fmt(r['met'])} | {r['cost']:,.0f} | "
                         f"{r['n_actions']} | {r['seconds']:.1f} | {r['what_ifs']} |")
    if res.get("cases"):
        from planner_cases import cases_markdown

        lines += ["", "## Issue 14 cases (default policy, bench/planner_cases.py)", "",
                  *([res["cases_note"] + ".", ""] if res.get("cases_note") else []),
                  cases_markdown(res["cases"])]
    if res.get("imports"):
        from planner_imports import imports_markdown

        lines += ["", "## Imports (default policy, bench/planner_imports.py)", "",
                  f"Measured {res.get('imports_date', res['date'])}.", "",
                  imports_markdown(res["imports"])]
    lines += ["", "## Per scenario", ""]
    for sc in res["scenarios"]:
        loop = sc["methods"][0]
        exh = next(r for r in sc["methods"] if r["method"].startswith("exhaustive"))
        lines += [f"- **{sc['scenario']}** ({sc['n_cells']} cells, "
                  f"{sc['n_candidate_sites']} candidate sites, {sc['n_candidates']} candidates, "
                  f"built in {sc['build_s']:.1f} s): peak {sc['peak_before']:.3f} -> "
                  f"{loop['peak']:.3f}, Jain {sc['jain_before']:.3f} -> "
                  f"{loop['jain_after']:.3f}; lower bound {fmt(loop['lower_bound'])}; "
                  f"{loop['iterations']} round(s); MILP = exhaustive on k=12: "
                  f"{fmt(exh['milp_same_objective'])} (objective "
                  f"{exh['exhaustive_objective']:.5f} vs {fmt(exh['milp_objective'], 5)}, "
                  f"{exh['subsets_feasible']} feasible subsets); plan: "
                  + "; ".join(loop["actions"])]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="hotspot only")
    ap.add_argument("--scenarios", nargs="*", default=None)
    ap.add_argument("--no-cli", action="store_true", help="skip the end-to-end command")
    ap.add_argument("--out", default=str(RESULTS / "planner_bench"))
    ap.add_argument("--cases", action="store_true",
                    help="only the issue-14 cases (bench/planner_cases.py): small cell vs tilt, "
                    "3 seeds each; writes bench/results/planner_cases.*")
    ap.add_argument("--imports", action="store_true",
                    help="only the Munich import (bench/planner_imports.py); writes "
                    "bench/results/planner_imports.*")
    ap.add_argument("--no-cases", action="store_true", help="leave the issue-14 cases out")
    ap.add_argument("--no-imports", action="store_true", help="leave the Munich import out")
    ap.add_argument("--imports-from", default=None,
                    help="JSON of an earlier --imports run: its rows instead of a new run")
    a = ap.parse_args()
    if a.cases:
        return run_issue_cases()
    if a.imports:
        return run_imports()
    names = a.scenarios or (["hotspot"] if a.quick else list(SCENARIOS))
    res: dict[str, Any] = {"machine": machine(),
                           "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "load_start": [round(x, 2) for x in os.getloadavg()],
                           "scenarios": []}
    if not a.no_cli:
        res["cli"] = cli_time()
        print(f"cli: {res['cli'].get('wall_s', 0):.1f} s", file=sys.stderr)
    res["whatif"] = whatif_throughput(load_scenario("hotspot"))
    print(f"what-ifs/s per core: {res['whatif']['serial_per_s']:.1f}", file=sys.stderr)
    ex = LocalExecutor()
    try:
        for n in names:
            t0 = time.perf_counter()
            res["scenarios"].append(bench_scenario(n, ex))
            print(f"{n}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    finally:
        ex.close()
    if not a.no_cases:
        from planner_cases import run_cases

        t0 = time.perf_counter()
        res["cases"] = run_cases(SerialExecutor(), log=lambda m: print(m, file=sys.stderr))
        res["cases_wall_s"] = time.perf_counter() - t0
    if a.imports_from:
        prev = json.loads(Path(a.imports_from).read_text())
        res["imports"], res["imports_date"] = prev["runs"], prev["date"]
    elif not a.no_imports:
        res["imports"] = import_rows()
    res["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, out.with_suffix(".md"))
    print(f"wrote {out.with_suffix('.md')} and .json", file=sys.stderr)
    return 0


def import_rows() -> list[dict[str, Any]]:
    """Munich with local what-ifs (the full what-ifs took 12 min 50 s on this machine)."""
    from planner_imports import run_import

    return [run_import("munich", SerialExecutor(), local=True,
                       log=lambda m: print(m[:200], file=sys.stderr))]


def run_imports() -> int:
    from planner_imports import imports_markdown

    t0 = time.perf_counter()
    rows = import_rows()
    res = {"machine": machine(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "load_start": None, "wall_s": time.perf_counter() - t0, "runs": rows,
           "load_end": [round(x, 2) for x in os.getloadavg()]}
    out = RESULTS / "planner_imports"
    out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    out.with_suffix(".md").write_text(f"# Planner on imports\n\n{res['date']}, "
                                      f"{res['machine'].get('cpu', '')}\n\n"
                                      + imports_markdown(rows))
    print(imports_markdown(rows))
    return 0


def run_issue_cases() -> int:
    from planner_cases import cases_markdown, run_cases

    t0 = time.perf_counter()
    ex = SerialExecutor()
    load_start = [round(x, 2) for x in os.getloadavg()]
    rows = run_cases(ex, log=lambda m: print(m, file=sys.stderr))
    res = {"machine": machine(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "wall_s": time.perf_counter() - t0, "runs": rows, "load_start": load_start,
           "load_end": [round(x, 2) for x in os.getloadavg()]}
    out = RESULTS / "planner_cases"
    out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    head = (f"# Planner cases (issue 14)\n\n{res['date']}, {res['machine'].get('cpu', '')}; "
            f"load {load_start} -> {res['load_end']}; serial what-ifs, default policy, "
            "targets per case (smallcell 0.5, tilt 0.7), budget 100 kEUR. Command: "
            "`python bench/planner_bench.py --cases`.\n\n")
    out.with_suffix(".md").write_text(head + cases_markdown(rows))
    print(cases_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
