"""Declared table schemas: columns, dtypes, units, bounds, defaults and keys, checked once.

Each table the twin reads (sites, cells, candidate sites, measurements) is declared here as a
:class:`TableSchema`. :func:`validate` returns a clean, typed copy or raises
:class:`~twin.errors.ValidationError` naming the table, the row and the column; it never
returns a half-checked table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from twin.errors import ValidationError

Kind = Literal["str", "float", "int", "bool"]


@dataclass(frozen=True)
class Column:
    """One column: name (with its unit as suffix), kind, bounds, default and allowed values."""

    name: str
    kind: Kind
    description: str = ""
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False
    default: Any = None  # None: the column is required
    allowed: tuple[Any, ...] | None = None
    max_length: int = 200
    nullable: bool = False  # numeric only: blank/NaN means "not given" and is kept as NaN

    @property
    def required(self) -> bool:
        return self.default is None and not self.nullable


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns, the primary key (unique, non-empty) and foreign keys."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    foreign_keys: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # col -> (table, col)
    allow_extra: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _row_label(df: pd.DataFrame, schema: TableSchema, pos: int) -> str:
    if schema.key is not None and schema.key in df.columns:
        value = df[schema.key].iloc[pos]
        if isinstance(value, str) and value:
            return f"{pos} ({schema.key}={value!r})"
    return str(pos)


MAX_PROBLEMS = 20


def _fail(schema: TableSchema, df: pd.DataFrame, mask: np.ndarray, col: str,
          message: str) -> ValidationError:
    """The error of a check that ``mask`` rows fail: names the first and counts the others."""
    bad = np.flatnonzero(mask)
    more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
    return ValidationError(schema.name, message + more, _row_label(df, schema, int(bad[0])), col)


def _shown(v: Any) -> str:
    """A cell value as a user wrote it (numpy scalars without their type names)."""
    return repr(v) if isinstance(v, str) else str(v.item() if isinstance(v, np.generic) else v)


def _coerce(df: pd.DataFrame, schema: TableSchema, col: Column) -> pd.Series:
    raw = df[col.name]
    if col.kind == "str":
        bad = raw.map(lambda v: not isinstance(v, str) and not (isinstance(v, (int, np.integer))))
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(schema, df, bad.to_numpy(), col.name,
                        f"expected text, got {raw.iloc[pos]!r}")
        out = raw.astype(str)
        empty = (out.str.strip() == "").to_numpy()
        if empty.any():
            pos = int(np.flatnonzero(empty)[0])
            raise _fail(schema, df, (empty), col.name,
                        "empty text is not allowed")
        too_long = (out.str.len() > col.max_length).to_numpy()
        if too_long.any():
            pos = int(np.flatnonzero(too_long)[0])
            raise _fail(schema, df, (too_long), col.name,
                        f"text longer than {col.max_length} characters")
        return out
    if col.kind == "bool":
        mapping = {True: True, False: False, "true": True, "false": False, "1": True, "0": False,
                   "True": True, "False": False}
        mapped = raw.map(lambda v: mapping.get(v.strip() if isinstance(v, str) else v))
        bad = mapped.isna().to_numpy()
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise _fail(schema, df, (bad), col.name,
                        f"expected true/false, got {raw.iloc[pos]!r}")
        return mapped.astype(bool)
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna().to_numpy() & ~raw.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise _fail(schema, df, (bad), col.name,
                    f"expected a number, got {raw.iloc[pos]!r}")
    values = numeric.to_numpy(dtype=float)
    nan = ~np.isfinite(values)
    if col.nullable:
        nan &= ~np.isnan(values)  # NaN = not given; infinities are still errors
    if nan.any():
        pos = int(np.flatnonzero(nan)[0])
        raise _fail(schema, df, (nan), col.name,
                    f"missing or non-finite value ({_shown(raw.iloc[pos])}); "
                    "every row needs a finite number here")
    if col.min is not None:
        low = values < col.min  # NaN compares False, so a nullable blank passes
        if low.any():
            pos = int(np.flatnonzero(low)[0])
            raise _fail(schema, df, low, col.name,
                        f"{values[pos]:g} is below the minimum {col.min:g}")
    if col.max is not None:
        high = values >= col.max if col.max_exclusive else values > col.max
        if high.any():
            pos = int(np.flatnonzero(high)[0])
            bound = f"below {col.max:g}" if col.max_exclusive else f"at most {col.max:g}"
            raise _fail(schema, df, high, col.name,
                        f"{values[pos]:g} is out of range (must be {bound})")
    if col.kind == "int":
        frac = np.isfinite(values) & (values != np.round(values))
        if frac.any():
            pos = int(np.flatnonzero(frac)[0])
            raise _fail(schema, df, (frac), col.name,
                        f"expected a whole number, got {values[pos]:g}")
        return pd.Series(values.astype(np.int64), index=raw.index)
    return pd.Series(values, index=raw.index)


def combined(problems: Sequence[ValidationError]) -> ValidationError:
    """One error for several problems of a table: the first names its row and column (as a
    single problem would), the message lists the others (at most :data:`MAX_PROBLEMS`)."""
    first = problems[0]
    if len(problems) == 1:
        return first
    msg = str(first).split(": ", 1)[1] if ": " in str(first) else str(first)
    shown = [str(p) for p in problems[1:MAX_PROBLEMS]]
    more = len(problems) - 1 - len(shown)
    err = ValidationError(first.table, f"{msg}; {len(problems) - 1} more problem(s): "
                          + "; ".join(shown) + (f"; and {more} more" if more > 0 else ""),
                          first.row, first.column)
    err.problems = [str(p) for p in problems]
    return err


def validate(df: pd.DataFrame, schema: TableSchema,
             parents: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Check ``df`` against ``schema`` and return a typed copy with defaults filled in.

    Args:
        df: the table as read (any dtypes).
        schema: its declaration.
        parents: tables referenced by foreign keys, by table name.

    Raises:
        ValidationError: unknown or missing columns, wrong type, NaN, out-of-range value,
            value not allowed, duplicate or empty key, dangling foreign key.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(schema.name, f"expected a table, got {type(df).__name__}")
    known = set(schema.names)
    extra = [c for c in df.columns if c not in known]
    if extra and not schema.allow_extra:
        raise ValidationError(
            schema.name, f"unknown column(s) {sorted(map(str, extra))}; allowed columns are "
            f"{schema.names}")
    missing = [c.name for c in schema.columns if c.required and c.name not in df.columns]
    if missing:
        raise ValidationError(schema.name, f"missing required column(s) {missing}")
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    src = df.reset_index(drop=True)
    for col in schema.columns:
        fill = np.nan if col.nullable else col.default
        if col.name not in src.columns:
            src[col.name] = fill
        elif not col.required:
            src[col.name] = src[col.name].where(src[col.name].notna(), fill)
    problems: list[ValidationError] = []
    for col in schema.columns:
        try:
            series = _coerce(src, schema, col)
            if col.allowed is not None:
                bad = ~series.isin(col.allowed).to_numpy()
                if bad.any():
                    pos = int(np.flatnonzero(bad)[0])
                    raise _fail(schema, src, bad, col.name,
                                f"{series.iloc[pos]!r} is not one of {list(col.allowed)}")
        except ValidationError as exc:
            # every column is checked, so one upload shows all of its problems at once
            problems.append(exc)
            continue
        out[col.name] = series
    if problems:
        raise combined(problems)
    if schema.allow_extra:
        for c in extra:
            out[c] = src[c]
    if schema.key is not None:
        dup = out[schema.key].duplicated(keep="first").to_numpy()
        if dup.any():
            pos = int(np.flatnonzero(dup)[0])
            raise ValidationError(schema.name, f"duplicate id {out[schema.key].iloc[pos]!r}; "
                                  "ids must be unique", pos, schema.key)
    for col_name, (table, parent_col) in schema.foreign_keys.items():
        if parents is None or table not in parents:
            continue
        known_ids = set(parents[table][parent_col])
        dangling = ~out[col_name].isin(known_ids).to_numpy()
        if dangling.any():
            pos = int(np.flatnonzero(dangling)[0])
            raise ValidationError(
                schema.name, f"{out[col_name].iloc[pos]!r} does not exist in {table}.{parent_col}",
                _row_label(out, schema, pos), col_name)
    return out


def describe(schema: TableSchema) -> list[dict[str, Any]]:
    """The schema as rows (for docs and the API)."""
    return [
        {"column": c.name, "kind": c.kind, "required": c.required, "default": c.default,
         "min": c.min, "max": c.max, "allowed": list(c.allowed) if c.allowed else None,
         "description": c.description}
        for c in schema.columns
    ]


def require_columns(df: pd.DataFrame, names: Sequence[str], table: str) -> None:
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise ValidationError(table, f"missing required column(s) {missing}")
