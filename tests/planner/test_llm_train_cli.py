"""``celltwin llm train`` errors a user can cause: one line, exit 2, before any model loads."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from cli.main import main


def test_without_the_train_extra_it_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "peft", None)  # what an environment without peft gives
    assert main(["llm", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "needs peft" in err and "celltwin[train]" in err and "torch==2.13.0" in err


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("torch", "peft",
                                                                   "transformers", "gguf")),
                    reason="the [train] extra is not installed")
def test_an_empty_dataset_folder_is_refused(tmp_path, capsys):
    assert main(["llm", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no training examples" in capsys.readouterr().err
