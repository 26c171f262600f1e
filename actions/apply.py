"""Applying actions to a network.

Applying a plan (:func:`apply_actions`) is pure: parameter changes first, then sector splits
(a split inherits the parameters just set), then new small cells. Two actions on the same knob
(the same cell and kind, or the same candidate location) are a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from actions.models import (
    ActionBase,
    AddSmallCell,
    SetAzimuth,
    SetCio,
    SetPower,
    SetTilt,
    SplitSector,
    UpgradeMimo,
)
from actions.sites import SMALL_CELL_DEFAULTS, SPLIT_GAIN_DB, split_cell_ids
from twin.errors import ValidationError
from twin.network import Network


def check_targets(network: Network, actions: Sequence[ActionBase]) -> None:
    """Every target exists, no knob is used twice, and upgrades go up."""
    seen: dict[tuple[str, str], int] = {}
    for i, a in enumerate(actions):
        if isinstance(a, AddSmallCell):
            network.candidate(a.candidate_id)
        else:
            network.cell_index(a.cell_id)
        k = a.knob()
        if k in seen:
            raise ValidationError("plan", f"actions {seen[k]} and {i} both change {k[1]} of "
                                  f"{k[0]!r}; keep one", i)
        seen[k] = i
        if isinstance(a, UpgradeMimo):
            now = int(network.cells.loc[network.cell_index(a.cell_id), "mimo_layers"])
            if a.mimo_layers <= now:
                raise ValidationError("plan", f"cell {a.cell_id!r} already has {now} layers; "
                                      f"an upgrade to {a.mimo_layers} is not an upgrade", i)


def apply_actions(network: Network, actions: Sequence[ActionBase]) -> Network:
    """The network after all actions (pure; raises on unknown ids and conflicts)."""
    check_targets(network, actions)
    cells = network.cells.copy()
    for a in actions:
        if isinstance(a, SplitSector | AddSmallCell):
            continue
        i = network.cell_index(a.cell_id)
        if isinstance(a, SetTilt):
            cells.loc[i, "elec_tilt_deg"] = a.elec_tilt_deg
        elif isinstance(a, SetAzimuth):
            cells.loc[i, "azimuth_deg"] = a.azimuth_deg
        elif isinstance(a, SetPower):
            cells.loc[i, "tx_power_dbm"] = a.tx_power_dbm
        elif isinstance(a, SetCio):
            cells.loc[i, "cio_db"] = a.cio_db
        elif isinstance(a, UpgradeMimo):
            cells.loc[i, "mimo_layers"] = a.mimo_layers
    splits = {a.cell_id for a in actions if isinstance(a, SplitSector)}
    if splits:
        rows = []
        for rec in cells.to_dict(orient="records"):
            if rec["cell_id"] not in splits or rec["antenna"] == "omni":
                if rec["cell_id"] in splits:
                    raise ValidationError("plan", "an omni cell cannot be split into sectors",
                                          rec["cell_id"])
                rows.append(rec)
                continue
            bw = float(rec["h_beamwidth_deg"])
            for new_id, sign in zip(split_cell_ids(rec["cell_id"]), (-1.0, 1.0), strict=True):
                rows.append({**rec, "cell_id": new_id,
                             "azimuth_deg": (float(rec["azimuth_deg"]) + sign * bw / 4.0) % 360.0,
                             "h_beamwidth_deg": bw / 2.0,
                             "antenna_gain_dbi": float(rec["antenna_gain_dbi"]) + SPLIT_GAIN_DB})
        cells = pd.DataFrame(rows)
    adds = [a for a in actions if isinstance(a, AddSmallCell)]
    new_sites = None
    if adds:
        carrier = _macro_carrier(network)
        site_rows, cell_rows = [], []
        for a in adds:
            cand = network.candidate(a.candidate_id)
            site_rows.append({"site_id": a.new_site_id(), "x_m": float(cand["x_m"]),
                              "y_m": float(cand["y_m"]), "lat_deg": float(cand["lat_deg"]),
                              "lon_deg": float(cand["lon_deg"]), "estimated": False,
                              "name": f"small cell at {cand['name']}"})
            cell_rows.append({**SMALL_CELL_DEFAULTS, **carrier, "cell_id": a.new_cell_id(),
                              "site_id": a.new_site_id(), "tx_power_dbm": a.tx_power_dbm,
                              "cio_db": a.cio_db, "height_m": float(cand["height_m"])})
        new_sites = pd.DataFrame(site_rows)
        cells = pd.concat([cells, pd.DataFrame(cell_rows)], ignore_index=True)
    if not splits and new_sites is None:
        # Parameter changes only: the action models bound every value within the cells
        # schema (tilt, CIO, power, azimuth, layers), so the validated table stays valid and
        # a what-if does not pay for a full re-validation.
        return replace(network, cells=cells)
    sites = network.sites if new_sites is None else pd.concat([network.sites, new_sites],
                                                              ignore_index=True)
    return network._revalidated(sites=sites, cells=cells)


def _macro_carrier(network: Network) -> dict[str, Any]:
    """The most common carrier of the network's sector cells (small cells reuse it)."""
    c = network.cells
    macro = c[c["antenna"] != "omni"]
    if macro.empty:
        macro = c
    keys = ["fc_ghz", "bandwidth_mhz", "n_prb", "scs_khz"]
    top = macro.groupby(keys).size().sort_values(ascending=False).index[0]
    return dict(zip(keys, top, strict=True))
