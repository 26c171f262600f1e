"""The LLM proposer: digest -> grammar-constrained JSON -> validated planner actions.

One :class:`LLMProposer` holds one loaded GGUF model (llama-cpp-python through
``guidance.models.LlamaCpp``) and answers :meth:`LLMProposer.propose` with a
:class:`ProposalRound` that records everything the audit trail needs: the prompt, the raw
output, the parsed proposals, the actions accepted and those rejected with the reason, token
counts and time. Generation is always bounded (``max_tokens``; every string has a
``max_length``), greedy by default so that a round is reproducible.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from planner.llm.adapter import AdapterInfo, check_adapter
from planner.llm.grammar import ProposalSpace, proposal_model, to_actions
from planner.llm.model import ModelInfo, resolve_model
from twin.errors import ModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in this process may reach a model hub

_MODELS: dict[tuple[str, int, int, str], Any] = {}
_LOCK = threading.Lock()


@dataclass
class ProposalRound:
    """One question to the model and what came back."""

    prompt: str
    raw: str
    parsed: dict[str, Any] | None
    actions: list[Any]
    rejected: list[dict[str, Any]]
    prompt_tokens: int
    output_tokens: int
    seconds: float
    error: str | None = None
    schema: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "raw": self.raw, "parsed": self.parsed,
                "accepted": [a.model_dump() for a in self.actions], "rejected": self.rejected,
                "prompt_tokens": self.prompt_tokens, "output_tokens": self.output_tokens,
                "seconds": self.seconds, "error": self.error}


def _load(info: ModelInfo, n_ctx: int, n_threads: int, adapter: AdapterInfo | None = None
          ) -> Any:
    key = (str(info.path), n_ctx, n_threads, str(adapter.path) if adapter else "")
    with _LOCK:
        if key not in _MODELS:
            from guidance import models

            from planner.llm.llama_log import route_llama_logs

            route_llama_logs()
            extra = {"lora_path": str(adapter.path)} if adapter is not None else {}
            try:
                with warnings.catch_warnings():
                    # llguidance reads the vocabulary through a llama.cpp call deprecated in
                    # 0.3.x: one DeprecationWarning per token (262k for Gemma) otherwise.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    _MODELS[key] = models.LlamaCpp(
                        str(info.path), echo=False, enable_monitoring=False, n_ctx=n_ctx,
                        n_threads=n_threads, verbose=False, **extra)
            except Exception as exc:  # llama.cpp reports a bad file as a generic error
                if adapter is not None:
                    raise ModelError(f"could not load model {str(info.path)!r} with adapter "
                                     f"{str(adapter.path)!r}: {exc}; check that the adapter "
                                     "is a complete LoRA for this model") from exc
                raise ModelError(f"could not load model {str(info.path)!r}: {exc}; check that "
                                 "it is a complete GGUF file llama.cpp supports") from exc
            if adapter is not None:
                _check_adapter_applied(_MODELS[key], adapter)
        return _MODELS[key]


def _check_adapter_applied(lm: Any, adapter: AdapterInfo) -> None:
    """llama-cpp-python 0.3.36 tests the adapter pointer llama.cpp returns with ``is None``,
    which a NULL ctypes pointer never is: an adapter llama.cpp refused would be ignored and the
    base model would run in its place. Check the pointer ourselves."""
    llama = lm._interpreter.engine.model_obj
    if not getattr(llama, "_lora_adapter", None):
        path = llama.model_path
        key = next(k for k, v in _MODELS.items() if v is lm)
        with contextlib.suppress(Exception):
            llama.close()
        del _MODELS[key]
        raise ModelError(f"llama.cpp could not load the adapter {str(adapter.path)!r} for the "
                         f"model {path!r}; check that the adapter is a complete "
                         "LoRA for this model (llama.cpp's log says why)")


def release_models() -> None:
    """Free every loaded model now.

    Registered with :mod:`atexit`: llama-cpp-python frees a model in ``Llama.__del__``, which at
    interpreter shutdown runs after its module globals are gone and prints a ``TypeError``
    traceback on every exit of a process that used the LLM.
    """
    with _LOCK:
        for lm in _MODELS.values():
            with contextlib.suppress(Exception):
                lm._interpreter.engine.model_obj.close()
        _MODELS.clear()


atexit.register(release_models)


class LLMProposer:
    """Proposes planning actions with a local GGUF model.

    Args:
        model: "embedded", a GGUF path, or None ($CELLTWIN_MODEL, else embedded).
        n_ctx: context length in tokens.
        max_tokens: bound of one answer.
        n_threads: CPU threads for llama.cpp (default: all cores, at most 4).
        temperature: 0 = greedy (reproducible).
        adapter: path of a GGUF LoRA adapter for the model (checked before llama.cpp loads it:
            :func:`planner.llm.adapter.check_adapter`), or None.
        adapter_sha256: the sha256 the adapter must have (the shipped adapter's), or None.
    """

    def __init__(self, model: str | None = None, n_ctx: int = 4096, max_tokens: int = 420,
                 n_threads: int | None = None, temperature: float = 0.0,
                 adapter: str | os.PathLike[str] | None = None,
                 adapter_sha256: str | None = None) -> None:
        self.info = resolve_model(model)
        self.adapter = (check_adapter(adapter, self.info, adapter_sha256)
                        if adapter is not None else None)
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.n_threads = n_threads or max(1, min(4, os.cpu_count() or 1))
        self.temperature = temperature
        self._lm: Any = None

    @property
    def lm(self) -> Any:
        if self._lm is None:
            self._lm = _load(self.info, self.n_ctx, self.n_threads, self.adapter)
        return self._lm

    def count_tokens(self, text: str) -> int:
        llama = self.lm._interpreter.engine.model_obj
        return len(llama.tokenize(text.encode("utf-8"), add_bos=True))

    def fits(self, prompt: str) -> bool:
        """Whether the prompt leaves room for a full answer in the context."""
        return self.count_tokens(prompt) + self.max_tokens + 16 <= self.n_ctx

    def propose(self, prompt: str, space: ProposalSpace) -> ProposalRound:
        """Ask once; never raises for a bad answer (it is recorded as an error instead)."""
        from guidance import json as gjson

        model = proposal_model(space)
        schema = model.model_json_schema()
        n_prompt = self.count_tokens(prompt)
        if n_prompt + self.max_tokens + 16 > self.n_ctx:
            raise ModelError(f"the prompt has {n_prompt} tokens and does not fit a context of "
                             f"{self.n_ctx} with {self.max_tokens} for the answer")
        t0 = time.perf_counter()
        raw = ""
        parsed: dict[str, Any] | None = None
        actions: list[Any] = []
        rejected: list[dict[str, Any]] = []
        error = None
        with _LOCK:  # one llama context per model: one generation at a time
            out = self.lm + prompt + gjson(name="answer", schema=model,
                                           max_tokens=self.max_tokens,
                                           temperature=self.temperature)
            raw = str(out["answer"])
        seconds = time.perf_counter() - t0
        try:
            parsed = json.loads(raw)
            actions, rejected = to_actions(parsed, space)
        except (ValueError, TypeError) as exc:
            # Truncated at max_tokens, or (for a grammar-free backend) invalid: record it.
            error = f"answer could not be used: {str(exc)[:300]}"
        return ProposalRound(prompt=prompt, raw=raw, parsed=parsed, actions=actions,
                             rejected=rejected, prompt_tokens=n_prompt,
                             output_tokens=self.count_tokens(raw) - 1, seconds=seconds,
                             error=error, schema=schema)
