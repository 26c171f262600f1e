"""Audit records and the provenance every plan keeps: code version (package version and git
commit when the code runs from a checkout), hashes, model, prompts, solver summary."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.auth import User
from api.db.models import AuditRow


@lru_cache(maxsize=1)
def code_version() -> dict[str, str | None]:
    """``{"version": <celltwin version>, "commit": <git HEAD or None>, "dirty": ...}``."""
    try:
        version = metadata.version("celltwin")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    root = Path(__file__).resolve().parent.parent
    commit: str | None = None
    dirty: str | None = None
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                    capture_output=True, text=True, timeout=5,
                                    check=True).stdout.strip() or None
            status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True, text=True,
                                    timeout=5, check=True).stdout
            dirty = "yes" if status.strip() else "no"
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"version": version, "commit": commit, "dirty": dirty}


def record(session: Session, actor: User | str, action: str, network_id: str | None = None,
           plan_id: str | None = None, details: dict[str, Any] | None = None) -> AuditRow:
    """Add one audit record to the session (committed with the caller's transaction)."""
    if isinstance(actor, User):
        name, role = actor.name, actor.role.name
    else:
        name, role = actor, "system"
    row = AuditRow(actor=name, role=role, action=action, network_id=network_id,
                   plan_id=plan_id, details=details or {})
    session.add(row)
    return row
