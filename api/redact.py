"""What the API shows of stored documents: no server paths.

A plan's result, provenance and audit details hold paths of the server (the audit LP files
under the data directory, the folder of the shipped policy, the file of an LLM model, the rule
files a verdict names). They stay in the database and the server log; a client sees the file's
name only (``iteration_1.lp``, ``default``, ``model.gguf``).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

#: Keys whose string values may be server paths.
PATH_KEYS = frozenset({"lp_file", "policy_source", "llm_model_path", "path", "file"})


def _name(value: str) -> str:
    return PurePath(value).name if "/" in value or "\\" in value else value


def without_paths(doc: Any) -> Any:
    """``doc`` (JSON) with every path under :data:`PATH_KEYS` replaced by its last part."""
    if isinstance(doc, dict):
        return {k: _name(v) if k in PATH_KEYS and isinstance(v, str) else without_paths(v)
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [without_paths(v) for v in doc]
    return doc
