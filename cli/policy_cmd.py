"""``celltwin policy``: run a policy's case files (``test``) or gate one plan (``check``).

``celltwin policy test [DIR]`` works like ``conftest verify``: every ``*_cases.yaml`` beside the
rule files is run against the folder's whole policy; exit 1 when a case fails. Without DIR the
shipped ``default`` and ``strict`` policies are tested.

``celltwin policy check PLAN.json [--policy DIR]`` prints every rule's verdict on a plan (the
JSON of ``celltwin plan --json``); exit 1 when a deny rule fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from twin.errors import InputFileError
from twin.input_limits import parse_json


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="test policy rule files or check a plan against them",
                       description="Policy-as-code guardrails: test rule files against their "
                       "case files, or print every rule's verdict on a plan.")
    psub = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    t = psub.add_parser("test", help="run the case files of a policy folder",
                        description="Run every *_cases.yaml in the folder against the folder's "
                        "rules (like conftest verify); exit 1 when a case fails.")
    t.add_argument("dir", nargs="?", default=None, metavar="DIR",
                   help="policy folder, or a folder of policy folders (default: the shipped "
                   "'default' and 'strict' policies)")
    t.set_defaults(func=run_test)
    c = psub.add_parser("check", help="print every rule's verdict on a plan",
                        description="Gate a plan (celltwin plan --json): every rule's verdict "
                        "and message; exit 1 when a deny rule fails.")
    c.add_argument("plan", type=Path, metavar="PLAN.json", help="plan JSON file")
    c.add_argument("--policy", default=None, metavar="DIR",
                   help="policy folder or rule file ('default', 'strict' name the shipped ones; "
                   "default: default)")
    c.add_argument("--scenario", default=None,
                   help="built-in scenario whose network the plan changes (default: the "
                   "plan's 'scenario', else hotspot)")
    c.add_argument("--network", type=Path, default=None,
                   help="network file the plan changes (project tables), instead of a scenario")
    c.add_argument("--costs", default=None, metavar="FILE",
                   help="cost catalogue YAML to re-price the actions (default: the shipped one)")
    c.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    c.set_defaults(func=run_check)


def run_test(args: argparse.Namespace) -> int:
    from policies.cases import policy_folders, run_policy_cases

    failed = 0
    total = 0
    for folder in policy_folders(args.dir):
        report = run_policy_cases(folder)
        print(f"policy {folder}")
        for r in report.results:
            mark = "PASS" if r.ok else "FAIL"
            print(f"  {mark}  {r.file}:{r.line}  {r.name}  ({r.expect}: {r.detail})")
        if report.untested_deny_rules:
            print(f"  note: deny rules without a case that denies: "
                  f"{', '.join(report.untested_deny_rules)}")
        failed += report.n_failed
        total += len(report.results)
    print(f"{total} case(s), {total - failed} passed, {failed} failed")
    return 1 if failed else 0


def _network(args: argparse.Namespace, plan: Any) -> Any:
    if args.network is not None:
        from twin.importers import load_network

        return load_network(args.network).network
    from policies.networks import scenario_network

    name = args.scenario or (plan.get("scenario") if isinstance(plan, dict) else None)
    return scenario_network(str(name or "hotspot"))


def run_check(args: argparse.Namespace) -> int:
    from actions.costs import load_costs
    from policies import load_policy

    try:
        text = args.plan.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read plan {str(args.plan)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"plan {str(args.plan)!r} is not valid JSON: {exc}") from exc
    plan = parse_json(text, f"plan {str(args.plan)!r}")
    policy = load_policy(args.policy)
    network = _network(args, plan)
    costs = load_costs(args.costs) if args.costs else None
    verdict = policy.check_plan(plan, network, costs)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2, default=str))
        return 0 if verdict.passed else 1
    print(f"policy {policy.source} (sha256 {policy.policy_hash[:16]}), plan {args.plan}, "
          f"network {network.name}")
    width = max(len(r.rule_id) for r in verdict.results)
    for r in verdict.results:
        mark = "PASS" if r.passed else "FAIL"
        print(f"  {mark}  {r.severity:4}  {r.rule_id:{width}}  {r.summary}")
        if not r.passed:
            print(f"        {'':4}  {'':{width}}  -> {' '.join(r.message.split())}")
    word = "PASSED" if verdict.passed else "DENIED"
    print(f"verdict: {word} ({len(verdict.violations)} deny rule(s) failed, "
          f"{len(verdict.warnings)} warning(s)); total cost EUR {verdict.total_cost_eur:,.0f}")
    return 0 if verdict.passed else 1
