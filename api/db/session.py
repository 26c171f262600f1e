"""Database engines: SQLite (WAL journal, busy timeout, foreign keys) or PostgreSQL (psycopg 3).

SQLite in WAL mode lets readers run while one writer commits; the busy timeout makes a second
writer wait instead of failing with "database is locked". Writers keep transactions short
(one progress update per transaction), so waits stay in milliseconds. The pragmas are set
only on SQLite connections; PostgreSQL has row locks and MVCC and needs none of them (it gets
``pool_pre_ping`` so that a restarted database server costs one retry, not a failed request).
Bare ``postgres://``/``postgresql://`` URLs are mapped to the psycopg 3 dialect
(:func:`api.settings.normalise_database_url`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.settings import normalise_database_url, private_dir

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_private_file(path: Path) -> None:
    """Create an empty database file readable by the owner only (0600) in a 0700 folder, so
    that SQLite (which gives its -wal and -shm files the database file's mode) never writes
    the data world-readable; an existing file is left as it is."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` (SQLite gets the pragmas above and a private database file,
    see :func:`create_private_file`)."""
    url = normalise_database_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            create_private_file(Path(u.database))
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str) -> Engine:
    """One engine per URL per process (workers of a process pool each get their own)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engine(url: str) -> None:
    with _lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A short unit of work: commit on success, roll back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session
