"""YAML with line numbers: parse once into Python data and keep the node tree beside it, so
that a schema error located by pydantic (``("rules", 2, "budget", "max_eur")``) can be
reported as ``budget.yaml:14``.

PyYAML's composer gives every node a ``start_mark`` (0-based line); the safe constructor turns
the same node tree into plain Python data, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from policies.errors import PolicyError, PolicyIssue

#: Largest rule or case file, in characters (the shipped ones are under 5000).
MAX_YAML_CHARS = 500_000
#: Deepest nesting of mappings/sequences (a GeoJSON zone in a rule is about 8 deep).
MAX_YAML_DEPTH = 32


def _refuse(event: yaml.Event, depth: int) -> None:
    """Raise a ComposerError at ``event`` if it is an alias or has an anchor, or if a node
    there would be deeper than :data:`MAX_YAML_DEPTH` (``depth``: the node's level, 1-based).

    An alias makes the constructed data a graph: nine nested aliases of ten items each expand
    to 10^9 values from 459 bytes (the "billion laughs"), and every later walk of the data
    pays for the expansion. Rule files have no use for them, so ``&name`` and ``*name`` are
    refused where they are written. Composers recurse per level, so nesting is bounded
    before Python's recursion limit (or the C stack) is reached.
    """
    if isinstance(event, yaml.AliasEvent):
        raise yaml.composer.ComposerError(
            None, None, f"alias *{event.anchor} is not allowed in a policy file; write the "
            "value out", event.start_mark)
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        raise yaml.composer.ComposerError(
            None, None, f"anchor &{anchor} is not allowed in a policy file (aliases are "
            "refused); write the value out", event.start_mark)
    if depth > MAX_YAML_DEPTH:
        raise yaml.composer.ComposerError(
            None, None, f"nested more than {MAX_YAML_DEPTH} levels deep (limit "
            "MAX_YAML_DEPTH)", event.start_mark)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader with :func:`_refuse` before every node."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            _refuse(self.peek_event(), self._depth)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _scan(text: str) -> None:
    """:func:`_refuse` over libyaml's event stream (its parser is a state machine; its
    composer recurses in C and must not see a deep document)."""
    scanner = yaml.CSafeLoader(text)
    depth = 0
    try:
        while True:
            try:
                event = scanner.get_event()
            except yaml.MarkedYAMLError as exc:
                # libyaml's own flow-depth limit (1000) can trip while it scans ahead.
                if "nesting depth" not in str(exc.problem):
                    raise
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep (limit "
                    "MAX_YAML_DEPTH)", exc.problem_mark) from None
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                continue
            if isinstance(event, yaml.NodeEvent):  # scalars, aliases, collection starts
                _refuse(event, depth + 1)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
    finally:
        scanner.dispose()


def _loader(text: str) -> Any:
    """A safe loader of ``text`` that never sees an anchor, an alias or deep nesting:
    libyaml's (five times faster: 200 000 characters of flow list took 1.7 s in pure
    Python) after :func:`_scan`, else the pure-Python :class:`_BoundedLoader`."""
    if not getattr(yaml, "__with_libyaml__", False):
        return _BoundedLoader(text)
    _scan(text)
    return yaml.CSafeLoader(text)


def load_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document safely; returns (data, root node).

    Raises :class:`PolicyError` on a syntax error (with its line), a duplicate mapping key
    (PyYAML would silently keep the last one, hiding a rule), an anchor or alias, nesting
    deeper than :data:`MAX_YAML_DEPTH`, or a text longer than :data:`MAX_YAML_CHARS`.
    """
    if len(text) > MAX_YAML_CHARS:
        raise PolicyError(PolicyIssue(file, 0, f"the file has {len(text):,} characters, more "
                                      f"than {MAX_YAML_CHARS:,} (limit MAX_YAML_CHARS)"))
    try:  # the reader rejects control characters already when it is built
        yaml.reader.Reader(text)
    except yaml.YAMLError as exc:
        raise PolicyError(PolicyIssue(file, 0, f"not valid YAML: {exc}")) from exc
    loader = None
    try:
        loader = _loader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or str(exc)
        raise PolicyError(PolicyIssue(file, line, f"not valid YAML: {what}")) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(PolicyIssue(file, 0, f"not valid YAML: {exc}")) from exc
    finally:
        if loader is not None:
            loader.dispose()
    if node is not None:
        _check_duplicate_keys(node, file)
    return data, node


def _check_duplicate_keys(node: yaml.Node, file: str) -> None:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise PolicyError(PolicyIssue(
                            file, k.start_mark.line + 1,
                            f"key {k.value!r} appears twice in the same mapping (first on line "
                            f"{seen[k.value]}); keep one"))
                    seen[k.value] = k.start_mark.line + 1
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def line_of(node: yaml.Node | None, loc: Sequence[str | int], key_line: bool = False) -> int:
    """1-based line of the deepest node reached by following ``loc`` from ``node``.

    Elements of ``loc`` that name no child (pydantic inserts the discriminator tag of a union,
    e.g. ``"budget"``) are skipped. With ``key_line`` the line of the last mapping *key* is
    returned (an unknown key), else the line of the value.
    """
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value
                        if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if hit is None:
                continue
            key, node = hit
            line = (key if key_line else node).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                continue
            node = node.value[part]
            line = node.start_mark.line + 1
    return line
