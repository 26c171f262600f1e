"""Networks: create from a built-in scenario (JSON) or an upload (multipart), public view."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.models import NetworkRow


class NetworkCreate(BaseModel):
    """A network from a built-in scenario (``GET /scenarios`` lists them)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(min_length=1, max_length=64, examples=["hotspot"])
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="label (default: the scenario's name)")


class NetworkPublic(BaseModel):
    id: str
    name: str
    source: Literal["scenario", "upload"]
    scenario: str | None
    network_hash: str = Field(description="sha256 of the canonical network tables")
    n_sites: int
    n_cells: int
    n_candidates: int
    notes: list[str]
    summary: dict[str, Any] = Field(description="import and calibration summary, demand hash")
    warnings: list[str] = Field(default_factory=list, description=(
        "what the import merged or skipped and the measured cells calibration could not use "
        "(``summary.import.warnings`` then ``summary.calibration.warnings``)"))
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: NetworkRow) -> NetworkPublic:
        summary = dict(row.summary)
        return cls(id=row.id, name=row.name, source=row.source,  # type: ignore[arg-type]
                   scenario=row.scenario, network_hash=row.network_hash, n_sites=row.n_sites,
                   n_cells=row.n_cells, n_candidates=row.n_candidates, notes=list(row.notes),
                   summary=summary, warnings=summary_warnings(summary),
                   created_at=row.created_at, created_by=row.created_by)


def summary_warnings(summary: dict[str, Any]) -> list[str]:
    """The warnings of a stored summary (networks stored before warnings existed have none)."""
    out: list[str] = []
    for part in ("import", "calibration"):
        got = summary.get(part)
        if isinstance(got, dict) and isinstance(got.get("warnings"), list):
            out += [str(w) for w in got["warnings"]]
    return out


class NetworksPublic(BaseModel):
    items: list[NetworkPublic]
    count: int


class StatePublic(BaseModel):
    """The JSON of ``celltwin twin --json`` for one hour: KPIs and the per-cell table."""

    scenario: str
    hour: int
    n_cells: int
    converged: bool
    residual: float | None
    iterations: int
    kpis: dict[str, Any]
    cells: list[dict[str, Any]]
    notes: list[str]
