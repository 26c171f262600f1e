"""Rule and case files are parsed with bounded cost (issue 11, item 4): anchors and aliases
are refused where they are written (an alias bomb of a few hundred bytes expanded to 10^8
values), nesting and file size are bounded, and none of it is a RecursionError."""

from __future__ import annotations

import time

import pytest

from policies import PolicyError, load_policy
from policies.cases import parse_case_file
from policies.engine import policy_from_texts
from policies.yaml_lines import MAX_YAML_CHARS, MAX_YAML_DEPTH, load_yaml


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": each level lists the previous one ten times (10^levels)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "rules: []\n" + "\n".join(lines) + "\n"


def issue_of(text: str, file: str = "bomb.yaml") -> tuple[int, str]:
    with pytest.raises(PolicyError) as e:
        policy_from_texts({file: text})
    issue = e.value.issues[0]
    assert issue.file == file
    return issue.line, issue.message


def test_alias_bomb_is_refused_at_once():
    text = alias_bomb()
    assert len(text) < 600
    t0 = time.perf_counter()
    line, msg = issue_of(text)
    assert time.perf_counter() - t0 < 2.0  # minutes before
    assert line == 2 and "anchor &l0 is not allowed" in msg


def test_alias_and_anchor_are_refused_with_their_line():
    text = ("rules:\n  - id: a\n    kind: budget\n    severity: deny\n    message: m\n"
            "    scope: total\n    max_eur: 1\n  - *first\n")
    line, msg = issue_of(text)
    assert line == 8 and "alias *first is not allowed" in msg
    with pytest.raises(PolicyError, match="anchor &net is not allowed"):
        load_yaml("network: &net hotspot\ncases: []\n", "x_cases.yaml")


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 400, 5000])
def test_deep_nesting_is_an_issue_not_a_recursion_error(depth: int):
    _line, msg = issue_of("rules: " + "[" * depth + "]" * depth)
    assert f"nested more than {MAX_YAML_DEPTH} levels" in msg
    with pytest.raises(PolicyError, match="MAX_YAML_DEPTH"):
        parse_case_file("network: hotspot\ncases:\n  - " + "[" * depth + "]" * depth, "c.yaml")


def test_nesting_within_the_limit_still_parses():
    data, _node = load_yaml("a: " + "[" * (MAX_YAML_DEPTH - 1) + "]" * (MAX_YAML_DEPTH - 1),
                            "ok.yaml")
    assert isinstance(data["a"], list)


def test_file_size_is_bounded():
    text = "rules: []\n" + "# padding\n" * (MAX_YAML_CHARS // 10)
    line, msg = issue_of(text)
    assert line == 0 and "MAX_YAML_CHARS" in msg


@pytest.mark.parametrize("name", ["default", "strict"])
def test_shipped_policies_still_load(name: str):
    assert load_policy(name).rules


def _case(i: int, n_actions: int = 0) -> str:
    acts = ", ".join(["{kind: split_sector, cell_id: S01-1}"] * n_actions)
    return f"  - {{name: c{i}, expect: pass, plan: {{actions: [{acts}]}}}}\n"


def test_case_files_are_bounded(tmp_path):
    from policies.cases import MAX_CASE_ACTIONS, MAX_CASES, MAX_CASES_TOTAL, run_policy_cases

    head = "network: hotspot\ncases:\n"
    with pytest.raises(PolicyError, match=f"at most {MAX_CASES} items"):
        parse_case_file(head + "".join(_case(i) for i in range(MAX_CASES + 1)), "x_cases.yaml")
    with pytest.raises(PolicyError, match="MAX_CASE_ACTIONS") as e:
        parse_case_file(head + _case(0) + _case(1, MAX_CASE_ACTIONS + 1), "x_cases.yaml")
    assert e.value.issues[0].line == 4
    # Together: five rule files with a full case file each.
    for k in range(MAX_CASES_TOTAL // MAX_CASES + 1):
        (tmp_path / f"r{k}.yaml").write_text("rules: []\n")
        (tmp_path / f"r{k}_cases.yaml").write_text(
            head + "".join(_case(i) for i in range(MAX_CASES)))
    with pytest.raises(PolicyError, match="MAX_CASES_TOTAL"):
        run_policy_cases(tmp_path)


@pytest.mark.parametrize("text", [alias_bomb(), "rules: " + "[" * 500 + "]" * 500,
                                  "rules: []\nx: &a 1\n"])
def test_pure_python_loader_is_bounded_too(monkeypatch, text: str):
    # Without libyaml the composer is PyYAML's Python one (_BoundedLoader).
    import yaml

    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    _line, msg = issue_of(text)
    assert "is not allowed" in msg or "MAX_YAML_DEPTH" in msg


def test_large_files_parse_in_bounded_time():
    # 200 000 characters (the API's limit per file) of flow list: 3.3 s before (pure-Python
    # composer and one issue per element).
    flat = "rules: [" + ", ".join(["0"] * 66_000) + "]\n"
    t0 = time.perf_counter()
    with pytest.raises(PolicyError) as e:
        policy_from_texts({"a.yaml": flat})
    assert time.perf_counter() - t0 < 10.0  # about 1 s with libyaml on an idle machine
    assert len(e.value.issues) <= 51 and "more problems" in e.value.issues[-1].message


def test_a_policy_is_bounded_in_total(tmp_path):
    from policies.cases import run_policy_cases
    from policies.engine import MAX_POLICY_CHARS

    pad = "rules: []\n" + "#" * (MAX_POLICY_CHARS // 4) + "\n"
    files = {f"r{k}.yaml": pad for k in range(5)}
    with pytest.raises(PolicyError, match="MAX_POLICY_CHARS"):
        policy_from_texts(files)
    (tmp_path / "r.yaml").write_text("rules: []\n")
    case = "network: hotspot\ncases:\n  - {name: a, expect: pass, plan: {actions: []}}\n"
    for k in range(5):
        (tmp_path / f"r{k}.yaml").write_text("rules: []\n")
        (tmp_path / f"r{k}_cases.yaml").write_text(case + "#" * (MAX_POLICY_CHARS // 4))
    with pytest.raises(PolicyError, match="MAX_POLICY_CHARS"):
        run_policy_cases(tmp_path)
