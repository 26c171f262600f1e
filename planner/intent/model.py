"""The planning intent: what a planner asks for, as one checked structure.

A :class:`PlanningIntent` is shared by the CLI (``celltwin plan --ask``), the API
(``POST /networks/{id}/intents``) and the UI. Every field carries where its value came from
(``source[field]``: ``sentence`` when the request said it, ``default`` otherwise), and
anything in the request that could not be matched to the network (an unknown site name or
cell id) is listed in ``unmatched``, never guessed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from actions.models import ACTION_KINDS
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_MAX_ACTIONS, DEFAULT_TARGET

#: The fields whose provenance is recorded (the keys of ``PlanningIntent.source``).
INTENT_FIELDS: tuple[str, ...] = ("target", "budget_eur", "hours", "area", "allowed_kinds",
                                  "forbidden_kinds", "protected_cells", "protected_sites",
                                  "max_actions")
Source = Literal["sentence", "default"]
DAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                         "sunday")
#: Largest area radius a request may name (m): beyond it "around cell X" is the whole network.
MAX_RADIUS_M = 20_000.0
DEFAULT_RADIUS_M = 1000.0


class Hours(BaseModel):
    """When the load matters: the busy hour, a window ``[start_hour, end_hour)``, or the day.

    ``day`` is what the request said ("Sunday evening"); the twin's demand is one typical day,
    so it is kept for the planner to see and does not change the hours planned for."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["busy_hour", "window", "all_day"] = "busy_hour"
    start_hour: int | None = Field(None, ge=0, le=23)
    end_hour: int | None = Field(None, ge=1, le=24)
    day: Literal[DAYS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _window(self) -> Hours:
        if self.kind == "window":
            if self.start_hour is None or self.end_hour is None:
                raise ValueError("a window needs start_hour and end_hour")
            if self.end_hour <= self.start_hour:
                raise ValueError(f"the window {self.start_hour}-{self.end_hour} is empty; "
                                 "give start < end within one day (e.g. 18-22)")
        elif self.start_hour is not None or self.end_hour is not None:
            raise ValueError(f"start_hour/end_hour only go with kind 'window', not {self.kind!r}")
        return self

    def hour_list(self) -> tuple[int, ...] | None:
        """The hours of a window; None for the busy hour or the whole day."""
        if self.kind != "window":
            return None
        return tuple(range(int(self.start_hour or 0), int(self.end_hour or 24)))

    def label(self) -> str:
        day = f"{self.day} " if self.day else ""
        if self.kind == "window":
            return f"{day}{self.start_hour:02d}-{self.end_hour:02d} h"
        return day + ("busy hour" if self.kind == "busy_hour" else "all day")


class Area(BaseModel):
    """Where the plan should act: the whole network, listed cells or sites, the cells around
    one cell within ``radius_m``, or a polygon of local ``[x_m, y_m]`` vertices."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["network", "cells", "sites", "around_cell", "polygon"] = "network"
    cell_ids: list[str] = Field(default_factory=list, max_length=200)
    site_ids: list[str] = Field(default_factory=list, max_length=200)
    center_cell_id: str | None = None
    radius_m: float | None = Field(None, gt=0, le=MAX_RADIUS_M)
    polygon: list[tuple[float, float]] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _shape(self) -> Area:
        need = {"cells": bool(self.cell_ids), "sites": bool(self.site_ids),
                "around_cell": self.center_cell_id is not None,
                "polygon": len(self.polygon) >= 3, "network": True}
        if not need[self.kind]:
            what = {"cells": "cell_ids", "sites": "site_ids", "around_cell": "center_cell_id",
                    "polygon": "a polygon of at least 3 [x_m, y_m] vertices"}[self.kind]
            raise ValueError(f"area kind {self.kind!r} needs {what}")
        return self

    def label(self) -> str:
        if self.kind == "cells":
            return "cells " + ", ".join(self.cell_ids)
        if self.kind == "sites":
            return "sites " + ", ".join(self.site_ids)
        if self.kind == "around_cell":
            return f"within {self.radius_m or DEFAULT_RADIUS_M:.0f} m of cell {self.center_cell_id}"
        if self.kind == "polygon":
            return f"polygon of {len(self.polygon)} vertices"
        return "whole network"


class Unmatched(BaseModel):
    """A piece of the request that names something the network does not have."""

    model_config = ConfigDict(extra="forbid")

    field: str
    text: str = Field(max_length=200)
    reason: str = Field(max_length=300)


class PlanningIntent(BaseModel):
    """A planner's request, structured (see the module docstring).

    ``allowed_kinds`` minus ``forbidden_kinds`` is what the plan may use
    (:meth:`effective_kinds`); ``protected_cells`` and the cells of ``protected_sites`` may
    not change in this plan (on top of what the policy protects)."""

    model_config = ConfigDict(extra="forbid")

    target: float = Field(DEFAULT_TARGET, gt=0.0, le=10.0,
                          description="peak PRB utilisation to reach (fraction; above 1 only "
                          "from --target, as PlannerSettings allows)")
    budget_eur: float = Field(DEFAULT_BUDGET_EUR, ge=0.0, le=1e9)
    hours: Hours = Field(default_factory=Hours)
    area: Area = Field(default_factory=Area)
    allowed_kinds: list[str] = Field(default_factory=lambda: list(ACTION_KINDS))
    forbidden_kinds: list[str] = Field(default_factory=list)
    protected_cells: list[str] = Field(default_factory=list, max_length=500)
    protected_sites: list[str] = Field(default_factory=list, max_length=500)
    max_actions: int = Field(DEFAULT_MAX_ACTIONS, ge=0, le=100)
    source: dict[str, Source] = Field(default_factory=lambda: dict.fromkeys(INTENT_FIELDS,
                                                                            "default"))
    unmatched: list[Unmatched] = Field(default_factory=list)
    text: str = Field("", max_length=20_000)
    parser: str = Field("", max_length=40)

    @model_validator(mode="after")
    def _kinds(self) -> PlanningIntent:
        bad = [k for k in (*self.allowed_kinds, *self.forbidden_kinds) if k not in ACTION_KINDS]
        if bad:
            raise ValueError(f"unknown action kind(s) {bad}; use {list(ACTION_KINDS)}")
        extra = [k for k in self.source if k not in INTENT_FIELDS]
        if extra:
            raise ValueError(f"source names unknown field(s) {extra}; use {list(INTENT_FIELDS)}")
        for f in INTENT_FIELDS:
            self.source.setdefault(f, "default")
        # keep lists in the vocabulary's order, without duplicates: equal intents compare equal
        self.allowed_kinds = [k for k in ACTION_KINDS if k in set(self.allowed_kinds)]
        self.forbidden_kinds = [k for k in ACTION_KINDS if k in set(self.forbidden_kinds)]
        self.protected_cells = sorted(set(self.protected_cells))
        self.protected_sites = sorted(set(self.protected_sites))
        return self

    def effective_kinds(self) -> list[str]:
        return [k for k in self.allowed_kinds if k not in self.forbidden_kinds]

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    def fields_json(self) -> dict[str, object]:
        """The planning fields only (no provenance, text or parser): what a gold intent of
        the evaluation set states."""
        d = self.model_dump(mode="json")
        return {k: d[k] for k in INTENT_FIELDS}

    def summary_lines(self) -> list[str]:
        """The intent for a planner to confirm, one field a line, defaults marked."""
        def mark(f: str) -> str:
            return "" if self.source.get(f) == "sentence" else "   (default)"
        kinds = self.effective_kinds()
        rows = [
            ("target", f"peak PRB utilisation <= {self.target:.2f}"),
            ("budget_eur", f"{self.budget_eur:,.0f} EUR"),
            ("hours", self.hours.label()),
            ("area", self.area.label()),
            ("allowed_kinds", ", ".join(kinds) if kinds else "none"),
            ("forbidden_kinds", ", ".join(self.forbidden_kinds) or "none"),
            ("protected_cells", ", ".join(self.protected_cells) or "none"),
            ("protected_sites", ", ".join(self.protected_sites) or "none"),
            ("max_actions", str(self.max_actions)),
        ]
        out = [f"  {f:16} {v}{mark(f)}" for f, v in rows]
        for u in self.unmatched:
            out.append(f"  NOT MATCHED ({u.field}): {u.text!r}: {u.reason}")
        return out
