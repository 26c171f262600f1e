"""Bounded echoes: an error message quotes what the user sent (a field, a key, an id, a file
name), which may be a megabyte long. Long strings are cut in the middle, keeping the start (the
value's first characters) and the end (often what to do), with the number of characters cut.
"""

from __future__ import annotations

from typing import Any

#: Longest ``detail`` of an error answer and CLI error line, and longest other string in it.
MAX_DETAIL = 2000
MAX_FIELD = 500
#: Most entries of a list in an error answer (``issues``, ``violations``).
MAX_ITEMS = 100


def clip(text: str, limit: int = MAX_DETAIL) -> str:
    """``text`` if at most ``limit`` characters, else its start and end around a marker."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 4
    return f"{text[:head]} ... [{len(text) - head - tail} characters cut] ... {text[-tail:]}"


def clip_strings(doc: Any, limit: int = MAX_FIELD) -> Any:
    """``doc`` (JSON) with every string, key or value, clipped to ``limit``, and every list
    to its first :data:`MAX_ITEMS` entries."""
    if isinstance(doc, str):
        return clip(doc, limit)
    if isinstance(doc, dict):
        return {clip(str(k), limit): clip_strings(v, limit) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [clip_strings(v, limit) for v in doc[:MAX_ITEMS]]
    return doc
