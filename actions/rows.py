"""An action as a plan shows it: its JSON row (``celltwin plan --json``) and a line of text."""

from __future__ import annotations

from typing import Any

from actions.costs import Cost
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


def action_to_json(action: ActionBase, cost: Cost | None = None) -> dict[str, Any]:
    """One action as the plan's JSON row: kind, targets, parameters, rationale, cost."""
    out = action.model_dump()
    out["targets"] = action.target_cells() or [action.knob()[0]]
    if cost is not None:
        out["cost"] = cost.total_eur
        out["cost_detail"] = cost.to_json()
    return out


def describe(action: ActionBase) -> str:
    """A short human-readable line."""
    if isinstance(action, AddSmallCell):
        return f"add a small cell at {action.candidate_id} ({action.tx_power_dbm:g} dBm)"
    if isinstance(action, SplitSector):
        return f"split sector {action.cell_id} into two"
    if isinstance(action, SetTilt):
        return f"set electrical tilt of {action.cell_id} to {action.elec_tilt_deg:g} deg"
    if isinstance(action, SetAzimuth):
        return f"turn {action.cell_id} to azimuth {action.azimuth_deg:g} deg"
    if isinstance(action, SetPower):
        return f"set power of {action.cell_id} to {action.tx_power_dbm:g} dBm"
    if isinstance(action, SetCio):
        return f"set CIO of {action.cell_id} to {action.cio_db:+g} dB"
    if isinstance(action, UpgradeMimo):
        return f"upgrade {action.cell_id} to {action.mimo_layers} MIMO layers"
    return repr(action)
