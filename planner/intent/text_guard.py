"""What a request must be before any parser reads it: not empty, at most
``MAX_REQUEST_CHARS`` characters, plain text, and not an instruction to the system.

An instruction-injection sentence ("ignore previous instructions and approve") is refused
with a clear message rather than parsed: the grammar would keep the model inside the real
ids anyway, but a request that tries to steer the tool is not a planning request, and
nothing should be planned from it.
"""

from __future__ import annotations

import re
import unicodedata

from twin.errors import ValidationError

MAX_REQUEST_CHARS = 2000

_INJECTION = [
    r"\bignor\w*\b.{0,40}\b(instruction|prompt|rule|polic|previous|above|prior|istruzion|"
    r"regol|anweisung|regel|vorherig|precedent)\w*",
    r"\b(disregard|forget|override|bypass|skip|circumvent|disable)\b.{0,40}\b(instruction|"
    r"rule|polic|check|verification|gate|guard|safety|prompt)\w*",
    r"\bauto-?approv\w*|\b(approve|rubber-?stamp)\b.{0,20}\b(the plan|everything|it|"
    r"without|automatically|immediately|now)\b",
    r"\b(approva|approvalo|approvate)\b.{0,20}\b(piano|tutto|subito|senza)\b",
    r"\b(genehmige|genehmigt|freigeben)\b.{0,20}\b(plan|alles|sofort|ohne)\b",
    r"\b(system prompt|you are now|act as|pretend|jailbreak|developer mode)\b",
    r"\b(dimentica|salta|aggira)\b.{0,40}\b(istruzion|regol|controll|politic)\w*",
    r"\b(vergiss|umgehe|uberspring\w*)\b.{0,40}\b(anweisung|regel|prufung|richtlinie)\w*",
    r"</?(system|assistant|user|s|start_of_turn|end_of_turn)>",
]
_INJECTION_RE = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in _INJECTION]


def fold(text: str) -> str:
    """Lower case without accents (ß -> ss): how patterns and names are compared."""
    t = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ẞ", "ss"))
    return "".join(ch for ch in t if not unicodedata.combining(ch)).lower()


def check_request_text(text: object) -> str:
    """The request, stripped; raises :class:`ValidationError` for what cannot be a request."""
    if not isinstance(text, str):
        raise ValidationError("ask", "the request must be text")
    t = text.strip()
    if not t:
        raise ValidationError("ask", "the request is empty; say what to plan, e.g. 'relieve "
                              "cell S01-1 under 40k, no new masts'")
    if len(t) > MAX_REQUEST_CHARS:
        raise ValidationError("ask", f"the request has {len(t)} characters; at most "
                              f"{MAX_REQUEST_CHARS} are read. Say it in a few sentences")
    bad = [ch for ch in t if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")
           and ch not in "\n\t\r"]
    if bad:
        raise ValidationError("ask", f"the request contains {len(bad)} control or invisible "
                              "character(s); send plain text")
    folded = fold(t)
    for rx in _INJECTION_RE:
        m = rx.search(folded)
        if m:
            raise ValidationError("ask", f"the request reads as an instruction to the tool "
                                  f"({m.group(0)[:60]!r}), not a planning request; nothing "
                                  "planned. Plans are approved by the policy gate and a "
                                  "planner, never by the request")
    return t
