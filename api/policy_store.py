"""The policy in force, kept in the database so that every server process (and every planning
worker) uses the same one: the newest ``policy_versions`` row, or the shipped default policy
when there is none. A replacement is validated first (all problems with file and line) and
written as a new version; old versions stay for the audit trail.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import PolicyVersionRow
from policies import PolicySet, load_policy, policy_from_texts
from policies.engine import rule_files, shipped_dir

_cache: dict[str, PolicySet] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class PolicyVersion:
    """A policy with its files and where it came from (``version`` None: shipped default)."""

    policy: PolicySet
    files: dict[str, str]
    version: int | None
    created_by: str | None = None


def default_files() -> dict[str, str]:
    """The shipped default policy's rule files, ``{file name: YAML text}``."""
    return {p.name: p.read_text(encoding="utf-8") for p in rule_files(shipped_dir("default"))}


def build_policy(files: Mapping[str, str]) -> PolicySet:
    """A policy from rule files, cached by content (raises PolicyError with file and line)."""
    key = "\0".join(f"{k}\0{files[k]}" for k in sorted(files))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    policy = policy_from_texts(dict(files), source="<api>")
    with _lock:
        _cache[key] = policy
    return policy


def version_by_id(session: Session, version: int | None) -> PolicyVersion:
    """A stored version, or the shipped default for None."""
    if version is None:
        return PolicyVersion(load_policy(None), default_files(), None)
    row = session.get(PolicyVersionRow, version)
    if row is None:
        return PolicyVersion(load_policy(None), default_files(), None)
    return PolicyVersion(build_policy(row.files), dict(row.files), row.id, row.created_by)


class ActivePolicy:
    """Reads and replaces the policy in force."""

    def current(self, session: Session) -> PolicyVersion:
        row = session.scalars(select(PolicyVersionRow).order_by(
            PolicyVersionRow.id.desc()).limit(1)).first()
        if row is None:
            return version_by_id(session, None)
        return PolicyVersion(build_policy(row.files), dict(row.files), row.id, row.created_by)

    def validate(self, files: Mapping[str, str]) -> PolicySet:
        return build_policy(files)

    def replace(self, session: Session, files: Mapping[str, str], user: str) -> PolicyVersion:
        """Validate and store a new version (the caller commits)."""
        policy = build_policy(files)
        row = PolicyVersionRow(created_by=user, policy_hash=policy.policy_hash,
                               files=dict(files))
        session.add(row)
        session.flush()
        return PolicyVersion(policy, dict(files), row.id, user)
