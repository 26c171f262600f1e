"""LoRA adapter files: every wrong file is a clear ModelError before (or when) llama.cpp loads
it. The files here are GGUF headers written by hand (no training extra needed)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from cli.main import main
from planner.llm.adapter import KEY_BASE_SHA, check_adapter, gguf_tensor_name, read_metadata
from planner.llm.model import resolve_model
from planner.llm.proposer import LLMProposer
from twin.errors import ModelError


def _s(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_header(path: Path, kv: dict[str, str | float], n_tensors: int = 0) -> Path:
    out = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kv))
    for key, value in kv.items():
        out += _s(key)
        out += struct.pack("<I", 6) + struct.pack("<f", value) if isinstance(value, float) \
            else struct.pack("<I", 8) + _s(value)
    path.write_bytes(out)
    return path


@pytest.fixture(scope="module")
def base():
    return resolve_model("embedded")


def _adapter_kv(base, **over) -> dict[str, str | float]:
    kv: dict[str, str | float] = {"general.architecture": "gemma3", "general.type": "adapter",
                                  "adapter.type": "lora", "adapter.lora.alpha": 32.0,
                                  KEY_BASE_SHA: base.sha256}
    kv.update(over)
    return kv


def test_reader_sees_the_embedded_models_metadata(base):
    meta, n = read_metadata(base.path)
    assert meta["general.architecture"] == "gemma3" and meta["general.type"] == "model"
    assert n > 100


def test_a_header_that_says_lora_for_this_model_passes(tmp_path, base):
    info = check_adapter(gguf_header(tmp_path / "a.gguf", _adapter_kv(base)), base)
    assert info.alpha == 32.0 and info.base_sha256 == base.sha256
    assert info.to_json()["name"] == "a.gguf"


@pytest.mark.parametrize(("kv", "needle"), [
    ({"general.type": "model"}, "is not a LoRA adapter"),
    ({"general.architecture": "llama"}, "is for architecture 'llama'"),
    ({KEY_BASE_SHA: "0" * 64}, "trained on a base model with sha256 0000"),
])
def test_mismatched_adapters_are_refused(tmp_path, base, kv, needle):
    path = gguf_header(tmp_path / "bad.gguf", _adapter_kv(base, **kv))
    with pytest.raises(ModelError, match=needle):
        check_adapter(path, base)


def test_not_gguf_missing_or_altered_files_are_refused(tmp_path, base):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"PK\x03\x04 not an adapter")
    with pytest.raises(ModelError, match="not a readable GGUF file"):
        check_adapter(junk, base)
    truncated = tmp_path / "trunc.gguf"
    truncated.write_bytes(gguf_header(tmp_path / "t.gguf", _adapter_kv(base)).read_bytes()[:30])
    with pytest.raises(ModelError, match="not a readable GGUF file"):
        check_adapter(truncated, base)
    with pytest.raises(ModelError, match="does not exist"):
        check_adapter(tmp_path / "nope.gguf", base)
    with pytest.raises(ModelError, match="not a LoRA adapter"):
        check_adapter(base.path, base)  # a full model given as the adapter
    ok = gguf_header(tmp_path / "ok.gguf", _adapter_kv(base))
    with pytest.raises(ModelError, match="corrupt or altered"):
        check_adapter(ok, base, expected_sha256="f" * 64)


def test_an_adapter_llama_cpp_cannot_load_is_a_model_error(tmp_path, base):
    # The header promises two tensors and the file ends: llama.cpp refuses it.
    path = gguf_header(tmp_path / "cut.gguf", _adapter_kv(base), n_tensors=2)
    llm = LLMProposer("embedded", n_ctx=512, adapter=path)
    with pytest.raises(ModelError, match=r"could not load the adapter .*cut\.gguf"):
        llm.lm  # noqa: B018


def test_plan_refuses_an_adapter_without_a_model(tmp_path, capsys):
    rc = main(["plan", "--scenario", "hotspot", "--llm", "none", "--llm-adapter",
               str(tmp_path / "a.gguf")])
    assert rc == 2
    assert "--llm-adapter needs a model" in capsys.readouterr().err


def test_plan_names_a_bad_adapter_in_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"nope")
    rc = main(["plan", "--scenario", "hotspot", "--llm", "embedded", "--llm-adapter",
               str(junk)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "junk.gguf" in err and "not a readable GGUF file" in err


def test_hf_names_map_to_llama_cpp_names():
    assert gguf_tensor_name("base_model.model.model.layers.3.self_attn.q_proj") == \
        "blk.3.attn_q.weight"
    assert gguf_tensor_name("base_model.model.model.layers.17.mlp.down_proj") == \
        "blk.17.ffn_down.weight"
    with pytest.raises(ValueError):
        gguf_tensor_name("base_model.model.model.layers.1.self_attn.q_norm")
