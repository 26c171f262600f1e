"""Settings of the REST API, read from the environment (12-factor style).

| variable | default | meaning |
|---|---|---|
| ``CELLTWIN_DATA_DIR`` | ``./data`` | data directory (created mode 0700): SQLite file (0600), token file (0600), the planner's LP files |
| ``DATABASE_URL`` | ``sqlite:///<data dir>/celltwin.db`` | SQLAlchemy URL; PostgreSQL: ``postgresql+psycopg://user:pw@host:5432/db`` (``postgresql://`` and ``postgres://`` mean the same, see :func:`normalise_database_url`) |
| ``CELLTWIN_TOKENS`` | unset | bearer tokens, ``role:TOKEN`` or ``name:role:TOKEN``, comma-separated |
| ``CELLTWIN_TOKENS_FILE`` | unset | the same entries, one per line (``#`` comments) |
| ``CELLTWIN_MAX_UPLOAD_MB`` | ``20`` | largest request body accepted (413 above) |
| ``CELLTWIN_WORKERS`` | ``2`` | planning jobs run at once |
| ``CELLTWIN_JOB_BACKEND`` | ``process`` | ``process`` (a pool of worker processes), ``thread``, or ``dask`` (jobs in threads, what-ifs on the cluster) |
| ``CELLTWIN_JOB_NICE`` | ``10`` | nice value of planning worker processes (0: same priority) |
| ``CELLTWIN_DASK_SCHEDULER`` | unset | address of a Dask scheduler (implies the ``dask`` backend) |
| ``CELLTWIN_STATE_CACHE`` | ``64`` | twin states (network, hour) kept in memory |
| ``CELLTWIN_MODEL_DIR`` | ``~/.cache/celltwin/models`` | the LLM model directory: the embedded model's assembled copy and every ``*.gguf`` file plans may name (``GET /models``) |
| ``CELLTWIN_MODEL`` | unset | one more GGUF file plans may name (by its file name) |

With neither token variable set, a token file ``tokens.txt`` is created in the data directory on
first start, with one random token per role (see :mod:`api.auth`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.errors import InputFileError

JobBackend = Literal["process", "thread", "dask"]

#: URL schemes users write for PostgreSQL (Heroku/libpq style) and the SQLAlchemy dialect the
#: API ships a driver for (psycopg 3, ``psycopg[binary]`` in the dependencies).
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
POSTGRES_DIALECT = "postgresql+psycopg"


def normalise_database_url(url: str) -> str:
    """``url`` with a bare PostgreSQL scheme mapped to the psycopg 3 dialect.

    ``postgres://u:p@h/db`` and ``postgresql://u:p@h/db`` become
    ``postgresql+psycopg://u:p@h/db`` (SQLAlchemy would otherwise pick psycopg2, which is not
    installed, and rejects ``postgres://`` outright). A URL that names a driver
    (``postgresql+psycopg2://``, ``sqlite:///...``) is returned unchanged.
    """
    u = url.strip()
    for scheme in _POSTGRES_SCHEMES:
        if u.lower().startswith(scheme):
            return f"{POSTGRES_DIALECT}://{u[len(scheme):]}"
    return u


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; the folder itself readable by the owner
    only (0700): it holds the database and the token file."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class Settings(BaseModel):
    """Resolved settings; build with :meth:`from_env` (tests pass explicit values)."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path = Path("data")
    database_url: str = ""
    tokens: str | None = None
    tokens_file: Path | None = None
    max_upload_mb: float = Field(20.0, gt=0)
    workers: int = Field(2, ge=1, le=64)
    job_backend: JobBackend = "process"
    job_nice: int = Field(10, ge=0, le=19)
    dask_scheduler: str | None = None
    state_cache: int = Field(64, ge=0)
    model_dir: Path | None = None  # None: planner.llm.model.model_dir()
    default_model: str = ""

    @model_validator(mode="after")
    def _dask_needs_a_scheduler(self) -> Settings:
        if self.job_backend == "dask" and not self.dask_scheduler:
            raise ValueError("job_backend 'dask' needs CELLTWIN_DASK_SCHEDULER (the scheduler's "
                             "address, e.g. tcp://10.0.0.5:8786)")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'celltwin.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def default_tokens_file(self) -> Path:
        return self.data_dir / "tokens.txt"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``env`` (default ``os.environ``); keyword overrides win (CLI options)."""
        e = os.environ if env is None else env
        values: dict[str, object] = {}
        if e.get("CELLTWIN_DATA_DIR"):
            values["data_dir"] = Path(e["CELLTWIN_DATA_DIR"])
        if e.get("DATABASE_URL"):
            values["database_url"] = e["DATABASE_URL"]
        if e.get("CELLTWIN_TOKENS"):
            values["tokens"] = e["CELLTWIN_TOKENS"]
        if e.get("CELLTWIN_TOKENS_FILE"):
            values["tokens_file"] = Path(e["CELLTWIN_TOKENS_FILE"])
        for key, env_name, conv in (("max_upload_mb", "CELLTWIN_MAX_UPLOAD_MB", float),
                                    ("workers", "CELLTWIN_WORKERS", int),
                                    ("job_nice", "CELLTWIN_JOB_NICE", int),
                                    ("state_cache", "CELLTWIN_STATE_CACHE", int)):
            if e.get(env_name):
                try:
                    values[key] = conv(e[env_name])
                except ValueError as exc:
                    raise InputFileError(f"{env_name}={e[env_name]!r} is not a number") from exc
        if e.get("CELLTWIN_MODEL_DIR"):
            values["model_dir"] = Path(e["CELLTWIN_MODEL_DIR"]).expanduser()
        if e.get("CELLTWIN_MODEL"):
            values["default_model"] = e["CELLTWIN_MODEL"]
        if e.get("CELLTWIN_JOB_BACKEND"):
            values["job_backend"] = e["CELLTWIN_JOB_BACKEND"].strip().lower()
        if e.get("CELLTWIN_DASK_SCHEDULER"):
            values["dask_scheduler"] = e["CELLTWIN_DASK_SCHEDULER"]
            values.setdefault("job_backend", "dask")
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except Exception as exc:  # pydantic names the field and the allowed values
            raise InputFileError(f"invalid API settings: {exc}") from exc
