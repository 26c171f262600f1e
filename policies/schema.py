"""Rule files: the YAML format, validated against pydantic models (``extra="forbid"``) with
every problem reported as ``file:line: what to fix``.

A rule file is a mapping::

    description: what this file is for (optional)
    rules:
      - id: budget-total          # unique across the policy
        kind: budget              # one of RULE_TYPES
        severity: deny            # deny | warn
        message: The plan costs more than the capacity budget allows.
        scope: total              # ... and the kind's own keys
        max_eur: 500000

Case files (``*_cases.yaml``) have their own schema (:mod:`policies.cases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from policies.errors import PolicyError, PolicyIssue
from policies.rules import RULE_MODELS, RULE_TYPES, RuleBase
from policies.yaml_lines import line_of, load_yaml

#: Problems spelled out per file (a list of 66 000 bad rules has 66 000).
MAX_ISSUES = 50

Rule = Annotated[Union[tuple(RULE_MODELS)], Field(discriminator="kind")]  # noqa: UP007


class RuleFile(BaseModel):
    """One rule file: an optional description and its rules."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    rules: list[Rule] = Field(default_factory=list)  # type: ignore[valid-type]


@dataclass(frozen=True)
class SourcedRule:
    """A rule with where it was written (for errors and audit)."""

    rule: RuleBase
    file: str
    line: int


def parse_rule_file(text: str, file: str) -> list[SourcedRule]:
    """Parse and validate one rule file; raises :class:`PolicyError` listing every problem."""
    data, node = load_yaml(text, file)
    if data is None:
        raise PolicyError(PolicyIssue(file, 1, "the file is empty; a rule file is a mapping "
                                      "with a 'rules' list (write 'rules: []' for none)"))
    if not isinstance(data, dict):
        raise PolicyError(PolicyIssue(file, 1, "a rule file is a mapping with a 'rules' list, "
                                      f"not a {type(data).__name__}"))
    try:
        parsed = RuleFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PolicyError(pydantic_issues(exc, data, node, file, RuleFile)) from None
    rule_nodes = _rule_nodes(node)
    return [SourcedRule(r, file, rule_nodes[i].start_mark.line + 1 if i < len(rule_nodes)
                        else 1) for i, r in enumerate(parsed.rules)]


def _rule_nodes(node: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "rules" and isinstance(
                v, yaml.SequenceNode):
            return list(v.value)
    return []


def pydantic_issues(exc: pydantic.ValidationError, data: Any, node: yaml.Node | None,
                    file: str, root: type[BaseModel]) -> list[PolicyIssue]:
    """Turn pydantic's errors into ``file:line`` issues with plain-language messages (the
    first :data:`MAX_ISSUES` of them, then one issue counting the rest)."""
    issues = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_ISSUES]:
        loc = tuple(err.get("loc", ()))
        etype = err.get("type", "")
        line = line_of(node, loc, key_line=etype == "extra_forbidden")
        prefix = _rule_prefix(data, loc)
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)
                      and p not in RULE_TYPES), "")
        if etype == "extra_forbidden":
            model = _model_at(loc, root)
            allowed = ", ".join(n for n in model.model_fields) if model else "?"
            msg = f"unknown key {loc[-1]!r}; allowed keys here: {allowed}"
        elif etype == "union_tag_invalid":
            line = line_of(node, (*loc, "kind"))
            ctx = err.get("ctx", {})
            msg = (f"unknown rule kind {ctx.get('tag', '?')!r}; use one of "
                   f"{', '.join(RULE_TYPES)}")
        elif etype == "union_tag_not_found":
            msg = f"the rule has no 'kind'; use one of {', '.join(RULE_TYPES)}"
        elif etype == "missing":
            msg = f"missing key {loc[-1]!r}"
        elif etype.startswith(("value_error", "assertion_error")):
            pass
        elif field:
            shown = err.get("input")
            shown_txt = "" if isinstance(shown, dict | list) else f" (got {shown!r})"
            msg = f"{field}: {msg}{shown_txt}"
        issues.append(PolicyIssue(file, line, prefix + msg))
    if len(errors) > MAX_ISSUES:
        issues.append(PolicyIssue(file, issues[-1].line, f"... and {len(errors) - MAX_ISSUES} "
                                  "more problems in this file"))
    return issues


def _rule_prefix(data: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] in ("rules", "cases") and isinstance(loc[1], int):
        try:
            item = data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return ""
        if isinstance(item, dict):
            name = item.get("id") or item.get("name")
            if name:
                return f"{loc[0][:-1]} {name!r}: "
        return f"{loc[0][:-1]} {loc[1] + 1}: "
    return ""


def _model_at(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The model whose keys an ``extra_forbidden`` error at ``loc`` refers to."""
    parent = loc[:-1]
    for part in parent:
        if isinstance(part, str) and part in RULE_TYPES:
            return RULE_TYPES[part]
    if not parent:
        return root
    field = root.model_fields.get(str(parent[0]))
    ann = getattr(field, "annotation", None)
    for arg in getattr(ann, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
