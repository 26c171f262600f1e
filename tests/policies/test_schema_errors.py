"""Malformed policy files give a clear error naming file and line, nothing is half-loaded, and
a PolicyStore keeps the previous policy in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import PolicyError, PolicyStore, load_policy, policy_from_texts
from twin.errors import CelltwinError

GOOD = """\
rules:
  - id: budget-total
    kind: budget
    severity: deny
    max_eur: 1000
    message: too expensive
"""


def issue(text: str, name: str = "x.yaml") -> tuple[int, str]:
    with pytest.raises(PolicyError) as exc:
        policy_from_texts({name: text})
    first = exc.value.first
    assert first.file == name
    assert isinstance(exc.value, CelltwinError)
    return first.line, first.message


def test_a_good_file_loads() -> None:
    p = policy_from_texts({"x.yaml": GOOD})
    assert p.rule_ids == ["budget-total"]


def test_yaml_syntax_error_names_its_line() -> None:
    line, msg = issue(GOOD + "  - id: [unclosed\n    kind: budget\n")
    assert line == 8
    assert "not valid YAML" in msg


def test_unknown_key_names_the_key_line_and_the_allowed_keys() -> None:
    line, msg = issue(GOOD + "    maximum: 5\n")
    assert line == 7
    assert "unknown key 'maximum'" in msg and "max_eur" in msg and "budget-total" in msg


def test_bad_severity_names_the_value_line() -> None:
    line, msg = issue(GOOD.replace("severity: deny", "severity: maybe"))
    assert line == 4
    assert "severity" in msg and "'maybe'" in msg and "deny" in msg


def test_min_above_max_names_the_rule() -> None:
    text = """\
rules:
  - id: ok
    kind: max_actions
    severity: deny
    max_count: 3
    message: m
  - id: tilt
    kind: parameter_bounds
    severity: deny
    action_kind: set_tilt
    parameter: elec_tilt_deg
    min: 12
    max: 2
    message: m
"""
    line, msg = issue(text)
    assert line == 7
    assert "min (12) is greater than max (2)" in msg and "'tilt'" in msg


def test_unknown_rule_kind_and_unknown_parameter() -> None:
    line, msg = issue(GOOD.replace("kind: budget", "kind: budgett"))
    assert line == 3 and "unknown rule kind 'budgett'" in msg
    text = GOOD.replace("kind: budget", "kind: parameter_bounds\n    action_kind: set_tilt\n"
                        "    parameter: tilt\n    min: 0").replace("    max_eur: 1000\n", "")
    _, msg = issue(text)
    assert "no numeric parameter 'tilt'" in msg


def test_duplicate_keys_and_duplicate_ids() -> None:
    line, msg = issue(GOOD + "    max_eur: 2000\n")
    assert line == 7 and "appears twice" in msg
    with pytest.raises(PolicyError) as exc:
        policy_from_texts({"a.yaml": GOOD, "b.yaml": GOOD})
    assert exc.value.first.file == "b.yaml" and exc.value.first.line == 2
    assert "already used at a.yaml:2" in exc.value.first.message


def test_every_problem_is_reported_at_once() -> None:
    bad = GOOD.replace("severity: deny", "severity: maybe") + "    colour: red\n"
    with pytest.raises(PolicyError) as exc:
        policy_from_texts({"x.yaml": bad, "y.yaml": "rules: 5\n"})
    where = {(i.file, i.line) for i in exc.value.issues}
    assert {("x.yaml", 4), ("x.yaml", 7), ("y.yaml", 1)} <= where


@pytest.mark.parametrize(("text", "needle"), [
    ("", "empty"),
    ("- a\n- b\n", "mapping"),
    ("rules:\n  - id: z\n    kind: forbidden_zone\n    severity: deny\n    message: m\n"
     "    zones: {type: Point, coordinates: [0, 0]}\n", "holds no polygon"),
    ("rules:\n  - id: z\n    kind: forbidden_zone\n    severity: deny\n    message: m\n"
     "    crs: wgs84\n    zones: {type: Polygon, coordinates: [[[0, 0], [400, 0], [0, 300]]]}\n",
     "lon_deg"),
    ("rules:\n  - id: z\n    kind: emf_cap\n    severity: deny\n    message: m\n", "give"),
    ("rules:\n  - id: z\n    kind: budget\n    severity: deny\n    message: m\n    scope: plan\n"
     "    max_eur: 5\n", "remove max_eur"),
    ("rules:\n  - id: bad id!\n    kind: budget\n    severity: deny\n    message: m\n"
     "    max_eur: 5\n", "id"),
])
def test_other_malformed_files(text: str, needle: str) -> None:
    _, msg = issue(text)
    assert needle in msg


def test_conflicting_deny_bounds_are_rejected() -> None:
    two = """\
rules:
  - {id: a, kind: parameter_bounds, severity: deny, message: m, action_kind: set_cio,
     parameter: cio_db, min: -6, max: -2}
  - {id: b, kind: parameter_bounds, severity: deny, message: m, action_kind: set_cio,
     parameter: cio_db, min: 0, max: 6}
"""
    line, msg = issue(two)
    assert line == 4 and "leaves no allowed value" in msg


def test_store_keeps_the_previous_policy(tmp_path: Path) -> None:
    store = PolicyStore()
    before = store.current
    assert before.policy_hash == load_policy().policy_hash
    with pytest.raises(PolicyError) as exc:
        store.replace_from_yaml(GOOD.replace("severity: deny", "severity: maybe"), "new.yaml")
    assert "new.yaml:4" in str(exc.value)
    assert store.current is before
    with pytest.raises(PolicyError):
        store.replace_from_yaml({"a.yaml": GOOD, "b.yaml": "rules:\n  - id: [\n"})
    assert store.current is before
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / "r.yaml").write_text("rules:\n  - id: x\n    kind: nope\n")
    with pytest.raises(PolicyError) as exc:
        store.replace_from_path(bad_dir)
    assert f"{bad_dir / 'r.yaml'}:3" in str(exc.value)
    assert store.current is before
    new = store.replace_from_yaml(GOOD)
    assert store.current is new and new.rule_ids == ["budget-total"]


def test_load_policy_paths(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy"):
        load_policy(tmp_path / "missing")
    with pytest.raises(PolicyError, match="no rule files"):
        load_policy(tmp_path)
    (tmp_path / "one.yaml").write_text(GOOD)
    (tmp_path / "one_cases.yaml").write_text("not: rules\n")  # case files are not rules
    assert load_policy(tmp_path).rule_ids == ["budget-total"]
    assert load_policy(tmp_path / "one.yaml").rule_ids == ["budget-total"]
    with pytest.raises(PolicyError, match="case file"):
        load_policy(tmp_path / "one_cases.yaml")
