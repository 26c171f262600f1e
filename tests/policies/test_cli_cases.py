"""``celltwin policy test`` (case files) and ``celltwin policy check`` (one plan), through
``cli.main.main``; and the shipped policies' case coverage: every rule kind has a case that
denies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from policies.cases import run_policy_cases
from policies.engine import load_policy, shipped_dir
from policies.rules import RULE_TYPES
from tests.policies.conftest import BASE_PLAN


def copy_policy(tmp_path: Path, name: str = "default") -> Path:
    dest = tmp_path / name
    shutil.copytree(shipped_dir(name), dest)
    return dest


def test_policy_test_passes_on_the_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test"]) == 0
    out = capsys.readouterr().out
    assert "policies/default" in out and "policies/strict" in out
    assert " 0 failed" in out and "FAIL" not in out


def test_every_rule_kind_has_a_case_that_denies() -> None:
    kinds_denied: set[str] = set()
    for name in ("default", "strict"):
        report = run_policy_cases(name)
        assert report.ok
        assert report.untested_deny_rules == []
        policy = load_policy(name)
        for r in report.results:
            if r.expect == "deny":
                kinds_denied |= {policy.rule(i).kind_name for i in r.denied_by
                                 if not i.startswith("builtin.")}
    assert kinds_denied == set(RULE_TYPES)


def test_policy_test_fails_on_a_broken_case(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_policy(tmp_path)
    cases = folder / "zones_cases.yaml"
    text = cases.read_text()
    assert "expect: deny\n    denied_by: [zone-school-street]" in text
    # A case that claims the school-street small cell passes: the runner must say FAIL.
    cases.write_text(text.replace("expect: deny\n    denied_by: [zone-school-street]",
                                  "expect: pass"))
    assert main(["policy", "test", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  zones_cases.yaml:24  small cell in school street" in out
    assert "expected pass, denied by zone-school-street" in out
    assert "1 failed" in out


def test_policy_test_runs_each_policy_of_a_parent_folder(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    copy_policy(tmp_path, "default")
    copy_policy(tmp_path, "strict")
    assert main(["policy", "test", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"policy {tmp_path / 'default'}" in out and f"policy {tmp_path / 'strict'}" in out


@pytest.mark.parametrize(("file", "edit", "needle"), [
    ("budget.yaml", lambda t: t.replace("max_eur: 500000", "max_eur: lots"),
     "budget.yaml:10: rule 'budget-total': max_eur"),
    ("budget_cases.yaml", lambda t: t.replace("denied_by: [budget-plan]",
                                              "denied_by: [budget-planned]", 1),
     "names unknown rule 'budget-planned'"),
    ("budget_cases.yaml", lambda t: t.replace("expect: pass", "expect: maybe", 1),
     "budget_cases.yaml:20"),
    ("emf_cases.yaml", lambda t: t.replace("network: hotspot", "network: atlantis"),
     "unknown scenario 'atlantis'"),
])
def test_malformed_files_exit_2_with_file_and_line(tmp_path: Path, file: str, edit: Any,
                                                   needle: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_policy(tmp_path)
    (folder / file).write_text(edit((folder / file).read_text()))
    assert main(["policy", "test", str(folder)]) == 2
    assert needle in capsys.readouterr().err


def test_a_case_file_without_its_rule_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_policy(tmp_path)
    shutil.copy(folder / "zones_cases.yaml", folder / "parks_cases.yaml")
    assert main(["policy", "test", str(folder)]) == 2
    assert "no rule file parks.yaml" in capsys.readouterr().err


def write_plan(tmp_path: Path, actions: list[dict[str, Any]], **kw: Any) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**BASE_PLAN, "actions": actions, **kw}))
    return path


def test_policy_check_passes_a_good_plan(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8}])
    assert main(["policy", "check", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "PASS  deny  tilt-range" in out and "verdict: PASSED" in out
    n_rules = len(load_policy().rules) + 2
    assert sum(line.startswith(("  PASS", "  FAIL")) for line in out.splitlines()) == n_rules


def test_policy_check_exits_1_on_a_deny(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    plan = write_plan(tmp_path, [{"kind": "add_small_cell", "candidate_id": "C08",
                                  "tx_power_dbm": 24}])
    assert main(["policy", "check", str(plan)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  deny  zone-school-street" in out
    assert "No new antenna site within the school's zoning buffer" in out
    assert "FAIL  warn  approval-new-site" in out and "verdict: DENIED" in out
    assert main(["policy", "check", str(plan), "--policy", "strict", "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert j["passed"] is False and "zone-school-street" in j["violations"]
    assert "approval-new-site" in j["violations"]  # deny under strict


def test_policy_check_with_an_own_policy_and_bad_input(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("rules:\n  - {id: no-tilt, kind: allowed_actions, severity: deny, "
                     "message: no tilts, action_kinds: [set_cio]}\n")
    plan = write_plan(tmp_path, [{"kind": "set_tilt", "cell_id": "S01-1", "elec_tilt_deg": 8}])
    assert main(["policy", "check", str(plan), "--policy", str(rules)]) == 1
    assert "FAIL  deny  no-tilt" in capsys.readouterr().out
    plan.write_text("{not json")
    assert main(["policy", "check", str(plan)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["policy", "check", str(tmp_path / "nope.json")]) == 2
    assert "cannot read plan" in capsys.readouterr().err
