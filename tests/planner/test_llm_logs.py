"""What a process that uses the LLM prints: nothing on stderr unless llama.cpp reports an
error (its warnings go to the ``celltwin.llama_cpp`` logger at their true level), and no
traceback at exit."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from planner.llm.llama_log import _callback, logger

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from planner.llm.grammar import ProposalSpace
from planner.llm.proposer import LLMProposer
p = LLMProposer("embedded", max_tokens=40)
r = p.propose("Cell 'A' is overloaded. Propose one power change as JSON:\\n",
              ProposalSpace(cells=("A",), candidates=(), kinds=("set_power",), max_proposals=1))
print(r.raw[:20])
"""


def test_a_process_using_the_model_prints_nothing_on_stderr() -> None:
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('{"proposals"')
    assert r.stderr == ""  # no llama.cpp set-up chatter, no Llama.__del__ traceback at exit


@pytest.mark.parametrize(("ggml_level", "expected"), [
    (1, logging.DEBUG), (2, logging.INFO), (3, logging.WARNING), (4, logging.ERROR)])
def test_llama_cpp_levels_map_to_their_logging_level(caplog, ggml_level: int,
                                                     expected: int) -> None:
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger=logger.name):
            _callback(ggml_level, b"first part ", None)
            _callback(5, b"continued\n", None)  # GGML_LOG_LEVEL_CONT keeps the last level
    finally:
        logger.setLevel(old)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (expected, "first part "), (expected, "continued")]


def test_only_errors_pass_by_default(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        logger.setLevel(logging.ERROR)  # the module's default
        _callback(3, b"a warning\n", None)
        _callback(4, b"an error\n", None)
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == ["an error"]
