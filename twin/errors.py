"""Typed errors a user can cause and fix.

Every error raised for bad input derives from :class:`CelltwinError`; its message says what
is wrong and what to do. The API maps these to 4xx responses, never 500.
"""

from __future__ import annotations


class CelltwinError(Exception):
    """Base class of errors caused by input the user can correct."""


class ValidationError(CelltwinError, ValueError):
    """A table failed its schema: names the table, the row (by id when known) and the column."""

    def __init__(self, table: str, message: str, row: str | int | None = None,
                 column: str | None = None) -> None:
        self.table = table
        self.row = row
        self.column = column
        #: every problem found when a check reports several (see twin.schema.combined)
        self.problems: list[str] = []
        where = table
        if row is not None:
            # a row labelled as a file shows it ("line 5 of cells.csv") reads as it is
            where += f", {row}" if str(row).startswith(("line ", "row ")) else f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")


class UnknownIdError(CelltwinError, KeyError):
    """An id (cell, site, scenario, candidate) that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; a planner wants plain text
        return str(self.args[0]) if self.args else "unknown id"


class InputFileError(CelltwinError, ValueError):
    """A file that cannot be read or parsed: names the path and the expected format."""


class InputTooLargeError(InputFileError):
    """A file within the upload size whose content is over a documented limit (rows,
    decompressed bytes); the API answers 413 and the message names the limit."""


class ModelError(CelltwinError, RuntimeError):
    """The twin cannot compute what was asked (e.g. no cell serves the study area)."""
