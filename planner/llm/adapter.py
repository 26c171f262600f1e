"""GGUF LoRA adapters for the proposer: what one is, how it is written, how it is checked.

An adapter file is a GGUF file as llama.cpp's ``convert_lora_to_gguf.py`` writes it:
``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``, the base
model's ``general.architecture``, and per adapted matrix two tensors
``blk.N.<name>.weight.lora_a`` (numpy shape ``[rank, n_in]``) and ``.lora_b`` (``[n_out,
rank]``), i.e. PyTorch's ``lora_A``/``lora_B`` weights as they are (llama.cpp reads the numpy
shape reversed: ``a.ne = [n_in, rank]``, ``b.ne = [rank, n_out]``, and scales by
``alpha / rank``). celltwin adds ``celltwin.base_model.sha256`` (the base GGUF the adapter was
trained on) and ``celltwin.data_card.sha256``.

:func:`check_adapter` runs before llama.cpp sees the file, so that a wrong file is a
:class:`ModelError` that says what is wrong (not a GGUF file, not a LoRA adapter, another
architecture, trained on another base model, a sha256 other than the one pinned), never a
crash or a silent mix. The metadata reader needs nothing but the standard library (the
``gguf`` package is only in the ``[train]`` extra).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from planner.llm.model import GGUF_MAGIC, ModelInfo, file_sha256
from twin.errors import ModelError

#: Hugging Face module name -> llama.cpp tensor name (Gemma 3, no q/k permutation)
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
KEY_BASE_SHA = "celltwin.base_model.sha256"
KEY_DATA_SHA = "celltwin.data_card.sha256"

# GGUF value types (gguf spec): fixed-size scalars by type id
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class AdapterInfo:
    """A checked adapter file, with what the audit trail records."""

    path: Path
    sha256: str
    alpha: float
    base_sha256: str | None
    n_tensors: int

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.path.name, "sha256": self.sha256,
                "alpha": self.alpha, "base_model_sha256": self.base_sha256,
                "n_tensors": self.n_tensors}


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("truncated metadata")
    return struct.unpack(fmt, data)[0]


def _string(fh: BinaryIO) -> str:
    n = _read(fh, "<Q")
    if n > 1 << 24:
        raise ValueError("implausible string length")
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("truncated string")
    return data.decode("utf-8", errors="replace")


def _value(fh: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(fh, _SCALARS[vtype])
    if vtype == _STRING:
        return _string(fh)
    if vtype == _ARRAY:
        itype, n = _read(fh, "<I"), _read(fh, "<Q")
        if n > 1 << 24:
            raise ValueError("implausible array length")
        return [_value(fh, itype) for _ in range(n)]
    raise ValueError(f"unknown metadata type {vtype}")


def read_metadata(path: Path) -> tuple[dict[str, Any], int]:
    """The key-value metadata of a GGUF file and its tensor count (raises ValueError)."""
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ValueError("it does not start with 'GGUF'")
        version = _read(fh, "<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is not supported")
        n_tensors, n_kv = _read(fh, "<Q"), _read(fh, "<Q")
        if n_kv > 1 << 20:
            raise ValueError("implausible metadata count")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(fh)
            meta[key] = _value(fh, _read(fh, "<I"))
    return meta, int(n_tensors)


def check_adapter(path: str | Path, model: ModelInfo, expected_sha256: str | None = None
                  ) -> AdapterInfo:
    """Check ``path`` as a LoRA adapter for ``model`` (see the module docstring)."""
    p = Path(path).expanduser()
    name = repr(str(path))
    if not p.is_file():
        raise ModelError(f"adapter file {name} does not exist or is not a file; give the path "
                         "of a GGUF LoRA adapter (celltwin llm train writes adapter.gguf)")
    try:
        meta, n_tensors = read_metadata(p)
    except (OSError, ValueError, struct.error) as exc:
        raise ModelError(f"adapter file {name} is not a readable GGUF file ({exc}); give an "
                         "adapter written by celltwin llm train or convert_lora_to_gguf") from exc
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise ModelError(f"file {name} is not a LoRA adapter (general.type "
                         f"{meta.get('general.type')!r}, adapter.type {meta.get('adapter.type')!r});"
                         " this is a full model: give it as the model, and a LoRA adapter as the adapter")
    if "adapter.lora.alpha" not in meta:
        raise ModelError(f"adapter file {name} has no adapter.lora.alpha")
    base_meta, _ = read_metadata(model.path)
    arch, base_arch = meta.get("general.architecture"), base_meta.get("general.architecture")
    if arch != base_arch:
        raise ModelError(f"adapter {name} is for architecture {arch!r}, the model "
                         f"{model.name!r} is {base_arch!r}; use an adapter trained on this model")
    base_sha = meta.get(KEY_BASE_SHA)
    if base_sha is not None and base_sha != model.sha256:
        raise ModelError(f"adapter {name} was trained on a base model with sha256 "
                         f"{str(base_sha)[:16]}..., not on {model.name!r} ({model.sha256[:16]}...); "
                         "use it with the model it was trained on")
    sha = file_sha256(p)
    if expected_sha256 is not None and sha != expected_sha256:
        raise ModelError(f"adapter file {name} has sha256 {sha}, expected {expected_sha256}; "
                         "the file is corrupt or altered: reinstall the package or retrain")
    return AdapterInfo(p.resolve(), sha, float(meta["adapter.lora.alpha"]),
                       str(base_sha) if base_sha is not None else None, n_tensors)


def gguf_tensor_name(hf_module: str) -> str:
    """``base_model.model.model.layers.3.self_attn.q_proj`` -> ``blk.3.attn_q.weight``."""
    parts = hf_module.split(".")
    i = parts.index("layers")
    layer = parts[i + 1]
    rest = ".".join(parts[i + 2:])
    if rest not in HF_TO_GGUF:
        raise ValueError(f"no llama.cpp name for module {hf_module!r}")
    return f"blk.{layer}.{HF_TO_GGUF[rest]}.weight"


def write_adapter(path: Path, tensors: dict[str, tuple[Any, Any]], alpha: float,
                  architecture: str, base_sha256: str, data_sha256: str | None = None) -> None:
    """Write ``{gguf weight name: (lora_a [r, n_in], lora_b [n_out, r])}`` as a GGUF LoRA
    adapter (F16), as llama.cpp's convert_lora_to_gguf does. Needs the ``gguf`` package."""
    import gguf
    import numpy as np

    tmp = path.with_name(path.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), architecture)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    w.add_string(KEY_BASE_SHA, base_sha256)
    if data_sha256:
        w.add_string(KEY_DATA_SHA, data_sha256)
    for name in sorted(tensors):
        a, b = tensors[name]
        w.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float16))
        w.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
