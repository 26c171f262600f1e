"""The verdict banner's wording and colour (ui/verdict.py): a denied or failed plan never
reads as a success."""

from __future__ import annotations

from typing import Any

from ui.verdict import verdict_of


def _job(**kw: Any) -> dict[str, Any]:
    res = {"target": 0.5, "peak_before": 0.93, "peak_after": 0.45, "target_met": True,
           "policy": {"passed": True, "violations": [], "warnings": []}}
    res.update(kw.pop("result", {}))
    job = {"id": "p1", "result": res, "policy_passed": True, "approved": False,
           "policy_current": {"passed": True, "stale": False, "status": "draft",
                              "violations": None}}
    job.update(kw)
    return job


def test_a_passing_plan_not_yet_approved_is_a_warning() -> None:
    v = verdict_of(_job())
    assert v.level == "warning" and v.policy_passed is True and not v.approved
    lines = v.lines()
    assert lines[0].startswith("Target met") and "93 %" in lines[0] and "45 %" in lines[0]
    assert "Not approved" in lines[2]


def test_approved_is_a_success() -> None:
    job = _job(approved=True, policy_current={"passed": True, "stale": False,
                                              "status": "approved", "violations": None})
    assert verdict_of(job).level == "success"


def test_a_denied_plan_says_which_rules_in_words() -> None:
    viol = [{"rule_id": "neighbour_harm", "severity": "deny", "problem": "util",
             "message": "a neighbour's load may rise by at most 0.10 (S02-1: 0.53 -> 0.67)"}]
    job = _job(policy_passed=False,
               result={"policy": {"passed": False, "violations": viol, "warnings": []}},
               policy_current={"passed": False, "stale": False, "status": "denied",
                               "violations": None})
    v = verdict_of(job)
    assert v.level == "error" and v.policy_passed is False
    text = " ".join(v.lines())
    assert "DENIED by the policy in force" in text
    assert "S02-1: 0.53 -> 0.67" in text and "[neighbour_harm]" in text
    assert "see policy.violations" not in text and "--budget" not in text


def test_a_plan_the_policy_in_force_denies_after_a_change_is_denied() -> None:
    job = _job(policy_passed=True, policy_current={
        "passed": False, "stale": True, "status": "denied",
        "violations": ["max_tilt_change: tilt may change by at most 2 deg"]})
    v = verdict_of(job)
    assert v.level == "error" and v.stale
    assert "re-checked after a policy change" in v.lines()[1]
    assert "max_tilt_change" in v.lines()[1]


def test_target_not_met_is_an_error_even_when_the_policy_passes() -> None:
    v = verdict_of(_job(result={"target_met": False, "peak_after": 0.62}))
    assert v.level == "error"
    assert v.lines()[0].startswith("Target NOT met") and "62 %" in v.lines()[0]
