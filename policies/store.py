"""A holder of the policy in force, for the API: replacing it validates first and keeps the
previous policy when the new one is malformed."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from policies.engine import PolicySet, load_policy, policy_from_texts


class PolicyStore:
    """The current :class:`PolicySet`; swaps are atomic and all-or-nothing."""

    def __init__(self, initial: PolicySet | None = None) -> None:
        self._lock = threading.Lock()
        self._current = initial if initial is not None else load_policy(None)

    @property
    def current(self) -> PolicySet:
        with self._lock:
            return self._current

    def replace_from_yaml(self, source: str | Mapping[str, str],
                          name: str = "policy.yaml") -> PolicySet:
        """Replace the policy with rules from YAML text (one file, shown as ``name``) or
        ``{file name: text}`` (``*_cases.yaml`` entries are ignored). Raises
        :class:`~policies.errors.PolicyError` (file and line) and keeps the old policy when
        anything is wrong."""
        texts = {name: source} if isinstance(source, str) else dict(source)
        new = policy_from_texts(texts, source="<uploaded>")
        with self._lock:
            self._current = new
        return new

    def replace_from_path(self, path: str | Path | None) -> PolicySet:
        """Replace the policy with one loaded from disk (same guarantees)."""
        new = load_policy(path)
        with self._lock:
            self._current = new
        return new
