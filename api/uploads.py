"""Uploaded files to temporary files the importers can read (suffix decides the reader)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from fastapi import UploadFile

from twin.errors import InputFileError

SUFFIXES = (".csv", ".parquet", ".pq", ".json")
PARQUET_MAGIC = b"PAR1"


def _suffix(upload: UploadFile, head: bytes) -> str:
    name = (upload.filename or "").lower()
    for s in SUFFIXES:
        if name.endswith(s):
            return s
    if head.startswith(PARQUET_MAGIC):
        return ".parquet"
    if head.lstrip()[:1] in (b"{", b"["):
        return ".json"
    return ".csv"


def save_upload(upload: UploadFile, directory: Path, what: str) -> Path:
    """Copy an upload to ``directory/<what><suffix>``; the suffix comes from the file name
    (.csv, .parquet, .pq, .json) or, without one, from the content."""
    f = upload.file
    head = f.read(8)
    f.seek(0)
    if not head:
        raise InputFileError(f"the uploaded {what} file is empty; send a CSV, Parquet or JSON "
                             "table with a header line")
    path = directory / f"{what}{_suffix(upload, head)}"
    with path.open("wb") as out:
        shutil.copyfileobj(f, out, length=1 << 20)
    return path


def upload_message(message: str, paths: Mapping[str, Path | None],
                   uploads: Mapping[str, UploadFile | None]) -> str:
    """An importer's message in the upload's terms: temporary paths become the form field
    and file name the user sent (the importers name the other inputs by their role, e.g. the
    'cells' table, the words of the form fields too)."""
    for field, path in paths.items():
        if path is None:
            continue
        up = uploads.get(field)
        name = up.filename if up is not None and up.filename else path.name
        shown = f"'{name}' (form field '{field}')"
        message = message.replace(f"'{path}'", shown).replace(str(path), shown)
        # readers that name a file by its base name, or by the name it was uploaded under
        # (the traffic map), are mapped too, once
        for quoted in {f"'{path.name}'", f"'{name}'"}:
            message = re.sub(re.escape(quoted) + r"(?! \(form field)", shown.replace("\\", "\\\\"),
                             message)
    return message
