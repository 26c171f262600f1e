"""The network: validated site, cell and candidate tables with string ids.

A :class:`Network` is immutable in spirit: methods that change it return a new one, so a
what-if never alters the network it started from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from twin.errors import UnknownIdError, ValidationError
from twin.geo import Origin
from twin.georef import georeference
from twin.schema import validate
from twin.tables import CANDIDATES, CELLS, SITES


@dataclass(frozen=True)
class Network:
    """Sites, cells and candidate small-cell locations.

    Attributes:
        sites: one row per site (:data:`twin.tables.SITES`).
        cells: one row per cell (:data:`twin.tables.CELLS`), ``site_id`` -> ``sites``.
        candidates: candidate locations for new small cells (:data:`twin.tables.CANDIDATES`).
        origin: WGS84 point of local (0, 0), or None for purely synthetic layouts.
        name: a label.
        notes: statements a planner must see (e.g. "site positions are estimated").
    """

    sites: pd.DataFrame
    cells: pd.DataFrame
    candidates: pd.DataFrame = field(default_factory=lambda: validate(
        pd.DataFrame(columns=["candidate_id", "x_m", "y_m"]), CANDIDATES))
    origin: Origin | None = None
    name: str = "network"
    notes: tuple[str, ...] = ()

    @classmethod
    def from_tables(cls, sites: pd.DataFrame, cells: pd.DataFrame,
                    candidates: pd.DataFrame | None = None, origin: Origin | None = None,
                    name: str = "network", notes: tuple[str, ...] = ()) -> Network:
        """Validate the tables and build a network; raises ValidationError naming row and column.

        Positions: ``x_m``/``y_m``, ``lat_deg``/``lon_deg`` or both (:mod:`twin.georef`): a
        table with lat/lon gives the network its origin when ``origin`` is None."""
        sites, candidates, origin = georeference(sites, candidates, origin)
        sites_v = validate(sites, SITES)
        cells_v = validate(cells, CELLS, parents={"sites": sites_v})
        check_prb_fit(cells_v)
        if len(cells_v) == 0:
            raise ValidationError("cells", "the network has no cells")
        if candidates is None:
            candidates = pd.DataFrame(columns=["candidate_id", "x_m", "y_m"])
        cand_v = validate(candidates, CANDIDATES)
        return cls(sites=sites_v, cells=cells_v, candidates=cand_v, origin=origin, name=name,
                   notes=tuple(notes))

    # --- lookups -------------------------------------------------------------------------
    @property
    def cell_ids(self) -> list[str]:
        return self.cells["cell_id"].tolist()

    def cell_index(self, cell_id: str) -> int:
        hits = (self.cells["cell_id"] == cell_id).to_numpy().nonzero()[0]
        if len(hits) == 0:
            raise UnknownIdError(f"unknown cell id {cell_id!r}; known cells include "
                                 f"{self.cell_ids[:5]}")
        return int(hits[0])

    def site_index(self, site_id: str) -> int:
        hits = (self.sites["site_id"] == site_id).to_numpy().nonzero()[0]
        if len(hits) == 0:
            raise UnknownIdError(f"unknown site id {site_id!r}")
        return int(hits[0])

    def candidate(self, candidate_id: str) -> pd.Series:
        hits = self.candidates.index[self.candidates["candidate_id"] == candidate_id]
        if len(hits) == 0:
            raise UnknownIdError(f"unknown candidate location {candidate_id!r}; this network has "
                                 f"{self.candidates['candidate_id'].tolist()[:10]}")
        return self.candidates.loc[hits[0]]

    def cells_with_sites(self) -> pd.DataFrame:
        """Cells joined with their site's position (``x_m``, ``y_m``, ``lat_deg``, ``lon_deg``)."""
        pos = self.sites[["site_id", "x_m", "y_m", "lat_deg", "lon_deg", "estimated"]]
        return self.cells.merge(pos, on="site_id", how="left", validate="many_to_one")

    # --- changes (each returns a new, validated network) ------------------------------------
    def with_cell_changes(self, cell_id: str, changes: Mapping[str, Any]) -> Network:
        """Return a network where ``cell_id`` has the given column values."""
        i = self.cell_index(cell_id)
        unknown = [k for k in changes if k not in self.cells.columns or k in ("cell_id",)]
        if unknown:
            raise ValidationError("cells", f"cannot change column(s) {unknown}", cell_id)
        cells = self.cells.copy()
        for k, v in changes.items():
            if pd.api.types.is_scalar(v) and pd.isna(v):
                raise ValidationError("cells", "a change needs a value, got nothing (None/NaN)",
                                      cell_id, k)
            # As object, so that a wrong type reaches validate() (and its clear message)
            # instead of failing inside pandas' typed column assignment.
            cells[k] = cells[k].astype(object)
            cells.loc[i, k] = v
        return self._revalidated(cells=cells)

    def with_added(self, sites: pd.DataFrame | None = None,
                   cells: pd.DataFrame | None = None) -> Network:
        """Return a network with extra sites and/or cells appended."""
        new_sites = self.sites if sites is None else pd.concat([self.sites, sites],
                                                               ignore_index=True)
        new_cells = self.cells if cells is None else pd.concat([self.cells, cells],
                                                               ignore_index=True)
        return self._revalidated(sites=new_sites, cells=new_cells)

    def without_cells(self, cell_ids: list[str]) -> Network:
        for c in cell_ids:
            self.cell_index(c)
        cells = self.cells[~self.cells["cell_id"].isin(cell_ids)].reset_index(drop=True)
        return self._revalidated(cells=cells)

    def _revalidated(self, sites: pd.DataFrame | None = None,
                     cells: pd.DataFrame | None = None) -> Network:
        sites_v = validate(self.sites if sites is None else sites, SITES)
        cells_v = validate(self.cells if cells is None else cells, CELLS,
                           parents={"sites": sites_v})
        check_prb_fit(cells_v)
        return replace(self, sites=sites_v, cells=cells_v)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "n_sites": len(self.sites), "n_cells": len(self.cells),
                "n_candidates": len(self.candidates), "notes": list(self.notes)}


def check_prb_fit(cells: pd.DataFrame) -> None:
    """Raise if a cell's PRBs do not fit its channel: ``n_prb x 12 x scs_khz`` must not exceed
    ``bandwidth_mhz`` (TS 36.101 Table 5.6-1, TS 38.101-1 Table 5.3.2-1: e.g. 20 MHz at
    15 kHz is 100 PRBs in LTE, 106 in NR)."""
    occupied_mhz = cells["n_prb"].to_numpy(float) * 12.0 * cells["scs_khz"].to_numpy(float) / 1e3
    bw = cells["bandwidth_mhz"].to_numpy(float)
    bad = occupied_mhz > bw * 1.0001
    if bad.any():
        pos = int(bad.argmax())
        cid = cells["cell_id"].iloc[pos]
        raise ValidationError(
            "cells", f"{int(cells['n_prb'].iloc[pos])} PRBs x 12 x {cells['scs_khz'].iloc[pos]:g} "
            f"kHz = {occupied_mhz[pos]:.2f} MHz do not fit in bandwidth_mhz {bw[pos]:g}; use the "
            "PRB count of the channel (TS 36.101 / 38.101)", f"{pos} (cell_id={cid!r})", "n_prb")
