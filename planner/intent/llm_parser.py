"""The LLM parser: the local model fills an intent under a grammar narrowed to the network.

For each request :func:`answer_model` builds a pydantic model whose JSON schema guidance
compiles into a token-level grammar: cell and site ids are enums of the network's real ids,
action kinds of :data:`actions.models.ACTION_KINDS` (minus what the policy
forbids), numbers are bounded integers (target 10-100 %, budget up to 100 M EUR, hours 0-24,
radius 50-20 000 m, actions 0-50) and lists are short. The model therefore cannot name an id
that does not exist, whatever the request says. The request itself passes
:func:`planner.intent.text_guard.check_request_text` first (empty, too long, injection:
refused, nothing asked).

The embedded model is a 270M *base* model, zero-shot: its answers are weak
(``bench/results/intent_bench.md``), so :func:`merge` keeps every field the regex baseline
read from the sentence and takes an LLM value only for a field the baseline left at its
default *and* only when the sentence holds evidence for it:

| field | the LLM's value is taken when |
|---|---|
| budget_eur, target, max_actions | its number is written in the request (40000 as 40000, 40k, 40.000, 40 mila) |
| hours (window) | both hours are numbers written in the request |
| area / protected cells and sites | the id is written in the request, or a word of the request is within a typo (similarity >= 0.8) of a word of that site's name |
| forbidden kinds | the request has a negation and a word within a typo of a word naming that kind |
| allowed kinds | the request has "only" and a word within a typo of a word naming that kind |

Everything else stays the baseline's (or the default). ``PlanningIntent.source`` then says
``sentence`` for a field either parser took from the request; ``parser`` says
``llm+baseline``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from actions.models import ACTION_KINDS
from planner.intent import lexicon as lx
from planner.intent.baseline import parse_baseline
from planner.intent.model import DAYS, Area, Hours, PlanningIntent
from planner.intent.text_guard import check_request_text, fold
from policies import PolicySet
from twin.network import Network

PARSER = "llm+baseline"
MAX_TOKENS = 160
MAX_LIST = 4
NAMED_SITES_IN_PROMPT = 40
SIMILAR = 0.8


def _int(lo: int, hi: int) -> Any:
    return Annotated[int | None, Field(ge=lo, le=hi)]


def answer_model(cells: tuple[str, ...], sites: tuple[str, ...],
                 kinds: tuple[str, ...] = ACTION_KINDS) -> type[BaseModel]:
    """The answer grammar for one network (see the module docstring)."""
    cfg = ConfigDict(extra="forbid")
    cell_t: Any = Literal[cells]  # type: ignore[valid-type]
    site_t: Any = Literal[sites]  # type: ignore[valid-type]
    kind_t: Any = Literal[kinds]  # type: ignore[valid-type]

    def ids(t: Any) -> Any:
        return (list[t], Field(..., max_length=MAX_LIST))

    # every field required: a grammar of optional keys in any subset is far slower to follow
    return create_model(
        "IntentAnswer", __config__=cfg,
        target_percent=(_int(10, 100), ...),
        budget_eur=(_int(0, 100_000_000), ...),
        hours=(Literal["unspecified", "busy_hour", "window", "all_day"], ...),
        start_hour=(_int(0, 23), ...),
        end_hour=(_int(1, 24), ...),
        day=(Literal[(*DAYS, "unspecified")], ...),  # type: ignore[valid-type]
        area_cells=ids(cell_t), area_sites=ids(site_t),
        radius_m=(_int(50, 20_000), ...),
        allowed_kinds=ids(kind_t), forbidden_kinds=ids(kind_t),
        protected_cells=ids(cell_t), protected_sites=ids(site_t),
        max_actions=(_int(0, 50), ...))


def prompt_for(text: str, network: Network, kinds: tuple[str, ...]) -> str:
    """A zero-shot prompt: the task, the named sites (names are quoted data) and the request."""
    s = network.sites
    named = []
    if "name" in s.columns:
        for sid, name in zip(s["site_id"].astype(str), s["name"].astype(str), strict=True):
            if name.strip() and name.strip() != "-" and not name.startswith("estimated"):
                named.append(f"- site {sid}: {json.dumps(name[:60])}")
    cells = list(network.cells["cell_id"].astype(str))
    lines = [
        "You turn a mobile network planner's request into JSON fields. Fill only what the "
        "request says; leave the rest null, empty or unspecified.",
        f"Network {json.dumps(network.name)}: {len(cells)} cells (ids like {cells[0]}), "
        f"{len(s)} sites (ids like {s['site_id'].iloc[0]}).",
        "Action kinds: " + ", ".join(kinds) + " (add_small_cell = new masts or small cells).",
    ]
    if named:
        lines.append("Named sites:")
        lines += named[:NAMED_SITES_IN_PROMPT]
    lines += ["Fields: target_percent (peak utilisation goal), budget_eur, hours (busy_hour, "
              "window with start_hour and end_hour, all_day), day, area_cells/area_sites (what "
              "to relieve), radius_m, allowed_kinds (only these), forbidden_kinds (not these), "
              "protected_cells/protected_sites (do not touch), max_actions.",
              f"Request: {json.dumps(text)}", "JSON:"]
    return "\n".join(lines) + "\n"


def compact_prompt(text: str, network: Network) -> str:
    """The trained adapter's prompt: the network's named sites (id=name, names as quoted
    data), what its ids look like, and the request. Short, so that training steps are short;
    the adapter learned the task, so the task is not explained."""
    s = network.sites
    named = []
    if "name" in s.columns:
        for sid, name in zip(s["site_id"].astype(str), s["name"].astype(str), strict=True):
            if name.strip() and name.strip() != "-" and not name.startswith("estimated"):
                named.append(f"{sid}={json.dumps(name[:60], ensure_ascii=False)}")
    cells = network.cells["cell_id"].astype(str)
    return (f"sites: {'; '.join(named[:NAMED_SITES_IN_PROMPT]) or 'none named'}\n"
            f"cells: {len(cells)}, ids like {cells.iloc[0]}\n"
            f"request: {json.dumps(text, ensure_ascii=False)}\nJSON:")


@dataclass
class LLMIntentResult:
    """One request to the model: the merged intent, the model's own intent, and the record."""

    intent: PlanningIntent
    llm_only: PlanningIntent
    raw: str
    prompt: str
    seconds: float
    taken: list[str]
    how: dict[str, Any] | None = None  # the adapter (name, sha256) and the merge rule

    def record(self) -> dict[str, Any]:
        return {"raw": self.raw, "seconds": self.seconds, "taken_from_llm": self.taken,
                "prompt_chars": len(self.prompt), **(self.how or {})}


def answer_to_intent(ans: dict[str, Any], text: str, defaults: PlanningIntent
                     ) -> PlanningIntent:
    """The model's answer alone as an intent (fields it left empty keep ``defaults``)."""
    d = defaults.model_dump()
    src = dict.fromkeys(d["source"], "default")

    def put(k: str, v: Any) -> None:
        d[k], src[k] = v, "sentence"

    if ans.get("target_percent") is not None:
        put("target", ans["target_percent"] / 100.0)
    if ans.get("budget_eur") is not None:
        put("budget_eur", float(ans["budget_eur"]))
    if ans.get("max_actions") is not None:
        put("max_actions", int(ans["max_actions"]))
    day = None if ans.get("day") in (None, "unspecified") else ans["day"]
    h = ans.get("hours", "unspecified")
    try:
        if h == "window":
            put("hours", Hours(kind="window", start_hour=ans.get("start_hour"),
                               end_hour=ans.get("end_hour"), day=day).model_dump())
        elif h in ("busy_hour", "all_day") or day:
            put("hours", Hours(kind="busy_hour" if h == "unspecified" else h,
                               day=day).model_dump())
    except ValueError:
        pass  # an empty or inverted window is no answer
    for k in ("allowed_kinds", "forbidden_kinds", "protected_cells", "protected_sites"):
        if ans.get(k):
            put(k, list(ans[k]))
    cells, sites = list(ans.get("area_cells") or []), list(ans.get("area_sites") or [])
    if cells:
        put("area", Area(kind="cells", cell_ids=cells, radius_m=ans.get("radius_m")).model_dump())
    elif sites:
        put("area", Area(kind="sites", site_ids=sites, radius_m=ans.get("radius_m")).model_dump())
    if d["allowed_kinds"] == []:
        d["allowed_kinds"] = list(ACTION_KINDS)
    d.update(source=src, text=text, parser="llm")
    return PlanningIntent.model_validate(d)


def _numbers(f: str, counts: bool = False) -> set[float]:
    """Every amount written in the request, with its k/mila/tausend multiples; ``counts``:
    only bare numbers (no multiplier, currency or percent next to them: "40k" is no count
    of 40 actions)."""
    out: set[float] = set()
    for m in re.finditer(r"(\d{1,3}(?:[.,' ]\d{3})+|\d+(?:[.,]\d+)?)\s*(k|mila|tausend|"
                         r"thousand|mio|million|milioni|millionen)?", f):
        if counts and (m.group(2) or re.match(r"\s*(€|eur|%|per|prozent)", f[m.end():])
                       or re.search(r"(€|eur|euro)\s*$", f[:m.start()])):
            continue
        s = m.group(1).replace("'", "").replace(" ", "")
        s = re.sub(r"[.,](?=\d{3}\b)", "", s).replace(",", ".")
        try:
            v = float(s)
        except ValueError:
            continue
        out.add(v)
        mult = m.group(2)
        if mult:
            out.add(v * (1e6 if mult.startswith(("mio", "mil")) else 1e3))
    for w, v in lx.NUMBER_WORDS.items():
        if re.search(rf"\b{re.escape(w)}\b", f):
            out.add(float(v))
    return out


def _similar(words: list[str], target: str) -> bool:
    return any(w == target or (len(w) >= 4 and len(target) >= 4 and
                               difflib.SequenceMatcher(None, w, target).ratio() >= SIMILAR)
               for w in words)


def evident_values(text: str, llm: PlanningIntent, network: Network) -> dict[str, Any]:
    """The fields of ``llm`` (the model's own intent) that the request ``text`` holds
    evidence for (the rules of the module docstring), with their values (as dumped)."""
    f = fold(text)
    words = re.findall(r"[a-z0-9-]+", f)
    nums = _numbers(f)
    counts = _numbers(f, counts=True)
    out: dict[str, Any] = {}
    for k, scale in (("budget_eur", 1.0), ("target", 100.0), ("max_actions", 1.0)):
        if llm.source[k] == "sentence":
            v = float(getattr(llm, k)) * scale
            if any(abs(v - n) < 1e-6 for n in (counts if k == "max_actions" else nums)):
                out[k] = getattr(llm, k)
    h = llm.hours
    if (llm.source["hours"] == "sentence" and h.kind == "window"
            and float(h.start_hour or 0) in nums and float(h.end_hour or 0) in nums):
        out["hours"] = h.model_dump()
    names: dict[str, list[str]] = {}
    if "name" in network.sites.columns:
        for sid, name in zip(network.sites["site_id"].astype(str),
                             network.sites["name"].astype(str), strict=True):
            names[sid] = [t for t in re.findall(r"[a-z]{4,}", fold(name))
                          if t not in lx.STOPWORDS]

    def evident(i: str, is_cell: bool) -> bool:
        if fold(i) in words:
            return True
        return not is_cell and any(_similar(words, n) for n in names.get(i, []))

    for k, is_cell in (("protected_cells", True), ("protected_sites", False)):
        if llm.source[k] == "sentence":
            keep = [i for i in getattr(llm, k) if evident(i, is_cell)]
            if keep:
                out[k] = keep
    if llm.source["area"] == "sentence":
        a = llm.area
        if a.kind == "cells":
            keep = [i for i in a.cell_ids if evident(i, True)]
            if keep:
                out["area"] = Area(kind="cells", cell_ids=keep, radius_m=a.radius_m).model_dump()
        elif a.kind == "sites":
            keep = [i for i in a.site_ids if evident(i, False)]
            if keep:
                out["area"] = Area(kind="sites", site_ids=keep, radius_m=a.radius_m).model_dump()
    neg = any(w in lx.NEGATIONS for w in words)
    only = any(w in lx.ONLY for w in words)
    for k, cue in (("forbidden_kinds", neg), ("allowed_kinds", only)):
        if llm.source[k] == "sentence" and cue:
            keep = [kind for kind in getattr(llm, k) if any(
                _similar(words, p) for p in lx.KIND_WORDS[kind] if " " not in p)]
            if keep and set(keep) != set(ACTION_KINDS):
                out[k] = keep
    return out


#: how :func:`merge` combines: ``baseline_first`` takes an LLM value only for a field the
#: baseline left at its default; ``llm_first`` takes every LLM value with evidence
MERGE_RULES = ("baseline_first", "llm_first")


def merge(base: PlanningIntent, llm: PlanningIntent, network: Network,
          rule: str = "baseline_first") -> tuple[PlanningIntent, list[str]]:
    """``base`` with the LLM's values where the evidence rules (:func:`evident_values`) and
    ``rule`` (:data:`MERGE_RULES`) allow; and the fields taken from the LLM. The baseline's
    unmatched items always stay: the grammar cannot say that something is missing."""
    if rule not in MERGE_RULES:
        raise ValueError(f"unknown merge rule {rule!r}; use {MERGE_RULES}")
    d = base.model_dump()
    src = dict(base.source)
    taken: list[str] = []
    for k, v in evident_values(base.text, llm, network).items():
        if rule == "llm_first" or src[k] == "default":
            if rule == "llm_first" and src[k] == "sentence" and d[k] == v:
                continue
            d[k], src[k] = v, "sentence"
            taken.append(k)
    d.update(source=src, parser=PARSER)
    return PlanningIntent.model_validate(d), taken


EMPTY_ANSWER: dict[str, Any] = {
    "target_percent": None, "budget_eur": None, "hours": "unspecified", "start_hour": None,
    "end_hour": None, "day": "unspecified", "area_cells": [], "area_sites": [],
    "radius_m": None, "allowed_kinds": [], "forbidden_kinds": [], "protected_cells": [],
    "protected_sites": [], "max_actions": None}


def salvage_answer(raw: str, model: type[BaseModel]) -> dict[str, Any] | None:
    """The answer, or the fields the model completed before ``max_tokens`` cut it (the
    grammar makes every completed field valid; the missing ones are empty). None: nothing
    usable."""
    try:
        return model.model_validate(json.loads(raw)).model_dump()
    except ValueError:
        pass
    cuts = [i for i in range(len(raw)) if raw.startswith(', "', i)]
    for i in reversed(cuts):
        try:
            part = json.loads(raw[:i] + "}")
        except ValueError:
            continue
        try:
            return model.model_validate({**EMPTY_ANSWER, **part}).model_dump()
        except ValueError:
            continue
    return None


def intents_from_raw(raw: str, text: str, network: Network, defaults: PlanningIntent,
                     model: type[BaseModel], base: PlanningIntent | None = None,
                     rule: str = "baseline_first"
                     ) -> tuple[PlanningIntent, PlanningIntent, list[str]]:
    """(merged by ``rule``, the LLM's own, fields taken from the LLM) for one raw answer."""
    base = base or parse_baseline(text, network, defaults)
    ans = salvage_answer(raw, model)
    llm_only = defaults.model_copy(update={"text": text, "parser": "llm"})
    if ans is not None:
        # an answer the intent model refuses (e.g. an empty window) says nothing usable
        with contextlib.suppress(ValueError):
            llm_only = answer_to_intent(ans, text, defaults)
    merged, taken = merge(base, llm_only, network, rule)
    return merged, llm_only, taken


ADAPTER_DIR = Path(__file__).parent / "adapter"
#: the shipped LoRA adapter of the embedded model for this parser, and its card (sha256,
#: training data card, settings, evaluation): ``docs/intents.md``
SHIPPED_ADAPTER = ADAPTER_DIR / "intent_lora.gguf"
SHIPPED_CARD = ADAPTER_DIR / "intent_lora.json"
#: how the shipped adapter's answers join the baseline's (chosen on the benchmark's numbers,
#: bench/results/intent_bench.md)
SHIPPED_RULE = "baseline_first"
#: the adapter a parser loads unless told: ``none``, because on the held-out requests the
#: shipped adapter merged with the baseline was less often plan-equivalent than the
#: baseline alone (bench/results/intent_bench.md); ``shipped`` loads it
DEFAULT_ADAPTER = "none"


def shipped_adapter() -> tuple[Path, str] | None:
    """(path, pinned sha256) of the shipped adapter, or None when this installation has none."""
    if not SHIPPED_ADAPTER.is_file() or not SHIPPED_CARD.is_file():
        return None
    return SHIPPED_ADAPTER, str(json.loads(SHIPPED_CARD.read_text())["sha256"])


def resolve_adapter(adapter: str | None, model: str | None) -> tuple[Path, str | None] | None:
    """The adapter a parser loads: ``shipped`` (the default) is the shipped one for the
    embedded model and nothing for another model (it was trained on the embedded base);
    ``none`` is none; anything else is a GGUF adapter path (checked when loaded)."""
    if adapter is None or adapter == "none":
        return None
    if adapter == "shipped":
        if model not in (None, "embedded"):
            return None
        return shipped_adapter()
    return Path(adapter), None


class LLMIntentParser:
    """Parses requests with one loaded model (``embedded`` or a GGUF path) and, when asked
    (``adapter="shipped"`` or a path; :data:`DEFAULT_ADAPTER` is none), a LoRA adapter
    (:func:`resolve_adapter`). With an adapter the prompt is
    :func:`compact_prompt` (what it was trained on) and the answers join the baseline by
    :data:`SHIPPED_RULE`; without, the zero-shot :func:`prompt_for` and ``baseline_first``."""

    def __init__(self, model: str | None = "embedded", max_tokens: int = MAX_TOKENS,
                 n_threads: int | None = None, adapter: str | None = DEFAULT_ADAPTER,
                 rule: str | None = None) -> None:
        from planner.llm.proposer import LLMProposer

        found = resolve_adapter(adapter, model)
        self.llm = LLMProposer(model, n_ctx=4096, max_tokens=max_tokens, n_threads=n_threads,
                               adapter=None if found is None else found[0],
                               adapter_sha256=None if found is None else found[1])
        self.max_tokens = max_tokens
        self.compact = found is not None
        self.rule = rule or (SHIPPED_RULE if self.compact else "baseline_first")
        if self.rule not in MERGE_RULES:
            raise ValueError(f"unknown merge rule {self.rule!r}; use {MERGE_RULES}")

    def parse(self, text: str, network: Network, defaults: PlanningIntent | None = None,
              policy: PolicySet | None = None) -> LLMIntentResult:
        t = check_request_text(text)
        defaults = defaults or PlanningIntent()
        base = parse_baseline(t, network, defaults)
        kinds = ACTION_KINDS
        if policy is not None:
            kinds = tuple(k for k in ACTION_KINDS if k in policy.bounds(network).allowed_kinds)
        cells = tuple(network.cells["cell_id"].astype(str))
        sites = tuple(network.sites["site_id"].astype(str))
        model = answer_model(cells, sites, kinds or ACTION_KINDS)
        prompt = compact_prompt(t, network) if self.compact else prompt_for(t, network, kinds)
        from guidance import json as gjson

        from planner.llm.proposer import _LOCK

        lm = self.llm.lm  # loads the model, which takes the same lock: before, not inside
        t0 = time.perf_counter()
        with _LOCK:
            out = lm + prompt + gjson(name="answer", schema=model, max_tokens=self.max_tokens,
                                      temperature=0.0)
            raw = str(out["answer"])
        seconds = time.perf_counter() - t0
        merged, llm_only, taken = intents_from_raw(raw, t, network, defaults, model, base,
                                                   self.rule)
        adapter = None if self.llm.adapter is None else self.llm.adapter.to_json()
        return LLMIntentResult(merged, llm_only, raw, prompt, seconds, taken,
                               {"adapter": adapter and {k: adapter[k] for k in
                                                        ("name", "sha256", "base_model_sha256")},
                                "rule": self.rule})
