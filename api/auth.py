"""Bearer tokens with ordered roles: viewer < planner < approver < admin.

A token entry is ``role:TOKEN`` (the user is named after the role) or ``name:role:TOKEN``;
``CELLTWIN_TOKENS`` holds entries separated by commas, a token file one per line (blank lines
and ``#`` comments ignored). With neither configured, :func:`load_tokens` writes
``<data dir>/tokens.txt`` (mode 0600) with one random token per role on first start and
reads it on later starts, so tokens survive restarts.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from api.settings import Settings, private_dir
from twin.errors import InputFileError


class Role(IntEnum):
    viewer = 1
    planner = 2
    approver = 3
    admin = 4


@dataclass(frozen=True)
class User:
    """Who sent a request: the name recorded in audit records, and the role."""

    name: str
    role: Role

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role.name}


@dataclass(frozen=True)
class TokenTable:
    """Token -> user; lookups compare in constant time."""

    entries: tuple[tuple[str, User], ...]
    source: str
    generated: bool = False

    def lookup(self, token: str) -> User | None:
        found = None
        for known, user in self.entries:
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user
        return found

    def token_for(self, role: Role) -> str | None:
        for token, user in self.entries:
            if user.role == role:
                return token
        return None


def parse_entries(text: str, source: str, sep: str) -> tuple[tuple[str, User], ...]:
    """Parse token entries; raises InputFileError naming the entry that is wrong."""
    out: list[tuple[str, User]] = []
    for n, raw in enumerate(text.split(sep), start=1):
        entry = raw.split("#", 1)[0].strip() if sep == "\n" else raw.strip()
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) == 2:
            name, role, token = parts[0], parts[0], parts[1]
        elif len(parts) == 3:
            name, role, token = parts
        else:
            raise InputFileError(f"{source}: entry {n} must be 'role:TOKEN' or "
                                 "'name:role:TOKEN'")
        if role not in Role.__members__:
            raise InputFileError(f"{source}: entry {n} has unknown role {role!r}; use one of "
                                 f"{', '.join(Role.__members__)}")
        if len(token) < 16:
            raise InputFileError(f"{source}: entry {n}: a token must be at least 16 characters")
        out.append((token, User(name or role, Role[role])))
    if not out:
        raise InputFileError(f"{source}: no token entries")
    return tuple(out)


def generate_token_file(path: Path) -> None:
    """Write one random token per role (``role:TOKEN`` lines), readable by the owner only."""
    private_dir(path.parent)
    lines = ["# celltwin API bearer tokens (role:TOKEN); generated on first start"]
    lines += [f"{r.name}:{secrets.token_urlsafe(24)}" for r in Role]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def load_tokens(settings: Settings) -> TokenTable:
    """The token table from the environment, the configured file, or the generated file."""
    if settings.tokens:
        return TokenTable(parse_entries(settings.tokens, "CELLTWIN_TOKENS", ","),
                          "CELLTWIN_TOKENS")
    path = settings.tokens_file
    generated = False
    if path is None:
        path = settings.default_tokens_file
        if not path.exists():
            try:
                generate_token_file(path)
                generated = True
            except FileExistsError:  # another server process wrote it first
                pass
    if not path.is_file():
        raise InputFileError(f"token file {str(path)!r} not found; set CELLTWIN_TOKENS_FILE to "
                             "an existing file or unset it")
    text = path.read_text(encoding="utf-8")
    return TokenTable(parse_entries(text, str(path), "\n"), str(path), generated)
