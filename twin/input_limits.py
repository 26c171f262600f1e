"""Bounds on what a user's file may make the readers do, checked before (or instead of)
reading it in full: JSON nesting depth, table rows, Parquet decompressed size.

A JSON network document is three levels deep (document, table, row); Python's JSON decoder
recurses once per level and fails with a RecursionError near 1000 levels, and so do ``repr``
and every other recursive walk of the parsed object. Documents deeper than
:data:`MAX_JSON_DEPTH` are refused with a message instead.

A Parquet file is compressed: 546 KB can hold 20 million rows. Its footer states the number of
rows and the uncompressed size of every row group, so :func:`check_parquet` refuses a file
over :data:`MAX_TABLE_ROWS` rows or :data:`MAX_PARQUET_BYTES` uncompressed bytes before any
page is decompressed. CSV files are read with ``nrows=MAX_TABLE_ROWS + 1``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twin.errors import InputFileError, InputTooLargeError

#: Deepest nesting of arrays/objects accepted in a JSON document (a network document has 3).
MAX_JSON_DEPTH = 32
#: Most data rows of one table (cells, sites, OpenCelliD rows, measurement rows).
MAX_TABLE_ROWS = 2_000_000
#: Most columns of one table (the widest, cells, has 20; OpenCelliD exports 14).
MAX_TABLE_COLUMNS = 1000
#: Largest uncompressed size of a Parquet table (sum of its row groups), bytes.
MAX_PARQUET_BYTES = 1 << 30
#: Most cells, and most candidate locations, of an imported network. The twin's cost grows
#: with cells x bins: 60 000 cells (a 3 MB OpenCelliD CSV) took 15 s and 1.2 GB for one hour
#: on the default 40 000-bin grid, before any calibration round; a metropolitan LTE layer
#: has a few thousand cells.
MAX_NETWORK_CELLS = 20_000


def nesting_depth(obj: Any) -> int:
    """Deepest nesting of lists/dicts in ``obj`` (a scalar is 0, ``[]`` is 1); iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((c, depth) for c in children)
    return deepest


def _too_deep(source: str, max_depth: int) -> InputFileError:
    return InputFileError(f"{source} nests arrays/objects more than {max_depth} levels deep "
                          f"(limit MAX_JSON_DEPTH = {max_depth}); a network document is a "
                          "JSON object of tables, each a list of flat row objects")


def parse_json(text: str, source: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` with bounded nesting; every failure is an :class:`InputFileError`
    naming ``source`` (malformed JSON, too deep, a number too long to convert)."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _too_deep(source, max_depth) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{source} is not valid JSON: {exc}") from exc
    except ValueError as exc:  # e.g. an integer literal of more than 4300 digits
        raise InputFileError(f"{source} is not valid JSON: {exc}") from exc
    if nesting_depth(doc) > max_depth:
        raise _too_deep(source, max_depth)
    return doc


def check_rows(n_rows: int, what: str, source: str, n_columns: int = 0) -> None:
    """Refuse a table of more than :data:`MAX_TABLE_ROWS` rows or
    :data:`MAX_TABLE_COLUMNS` columns."""
    if n_rows > MAX_TABLE_ROWS:
        raise InputTooLargeError(
            f"{what} file {source!r} has more than {MAX_TABLE_ROWS:,} rows (limit "
            f"MAX_TABLE_ROWS = {MAX_TABLE_ROWS:,}); split it or filter it first")
    if n_columns > MAX_TABLE_COLUMNS:
        raise InputTooLargeError(
            f"{what} file {source!r} has {n_columns:,} columns, more than "
            f"{MAX_TABLE_COLUMNS:,} (limit MAX_TABLE_COLUMNS); a table of this project has "
            "at most a few dozen")


def check_network_size(n_cells: int, n_candidates: int, source: str) -> None:
    """Refuse a network of more than :data:`MAX_NETWORK_CELLS` cells or candidates."""
    for n, what in ((n_cells, "cells"), (n_candidates, "candidate locations")):
        if n > MAX_NETWORK_CELLS:
            raise InputTooLargeError(
                f"{source}: {n:,} {what}, more than {MAX_NETWORK_CELLS:,} (limit "
                "MAX_NETWORK_CELLS); import one city or region at a time")


def check_parquet(path: str | Path, what: str) -> None:
    """Refuse a Parquet file whose footer states more rows than :data:`MAX_TABLE_ROWS`, more
    uncompressed bytes than :data:`MAX_PARQUET_BYTES`, or nested (list/struct/map) columns
    (a table cell holds one value); reads the footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = str(path)
    try:
        pf = pq.ParquetFile(src)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for a bad footer
        raise InputFileError(f"cannot read {what} file {src!r} as Parquet: {exc}") from exc
    md = pf.metadata
    check_rows(int(md.num_rows), what, src, int(md.num_columns))
    # Uncompressed bytes as the writer recorded them per column chunk, row group by row group.
    total = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        total += max(int(rg.total_byte_size),
                     sum(int(rg.column(j).total_uncompressed_size)
                         for j in range(rg.num_columns)))
    if total > MAX_PARQUET_BYTES:
        raise InputTooLargeError(
            f"{what} file {src!r} holds {total / 2**20:,.0f} MiB uncompressed, more than "
            f"{MAX_PARQUET_BYTES / 2**20:,.0f} MiB (limit MAX_PARQUET_BYTES); send a smaller "
            "table")
    nested = [f.name for f in pf.schema_arrow
              if pa.types.is_nested(f.type) or (pa.types.is_dictionary(f.type)
              and pa.types.is_nested(f.type.value_type))]
    if nested:
        raise InputFileError(f"{what} file {src!r} has nested (list/struct/map) column(s) "
                             f"{nested}; each table cell must hold one value")
