"""What the policy engine knows about planning actions, without importing the planner.

Dependencies point planner -> policies, so this module restates the action kinds and their
numeric parameters (``tests/policies/test_kinds.py`` checks it against ``planner.actions``) and
reads actions by duck typing: ``kind``, ``cell_id`` or ``candidate_id``, parameter attributes.
"""

from __future__ import annotations

from typing import Any

from twin.network import Network

#: action kind -> its numeric parameters (the ones a ``parameter_bounds`` rule may narrow).
ACTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "add_small_cell": ("tx_power_dbm", "cio_db"),
    "split_sector": (),
    "set_tilt": ("elec_tilt_deg",),
    "set_azimuth": ("azimuth_deg",),
    "set_power": ("tx_power_dbm",),
    "set_cio": ("cio_db",),
    "upgrade_mimo": ("mimo_layers",),
}
ACTION_KINDS: tuple[str, ...] = tuple(ACTION_PARAMETERS)
NEW_SITE_KINDS: frozenset[str] = frozenset({"add_small_cell"})

#: Antenna gain of a new small cell and the gain step of a sector split, as
#: ``planner.actions`` builds them (SMALL_CELL_DEFAULTS; apply_actions adds 3 dB to each half
#: of a split sector). Needed for EIRP caps; a test keeps them in step with the planner.
SMALL_CELL_GAIN_DBI = 5.0
SPLIT_GAIN_DB = 3.0


def kind_of(action: Any) -> str:
    return str(action.kind)


def target_cell(action: Any) -> str | None:
    """The existing cell an action changes (None for a new small cell)."""
    cell = getattr(action, "cell_id", None)
    return None if cell is None else str(cell)


def target_id(action: Any) -> str:
    """The id an action is about: its cell, or its candidate location."""
    cell = target_cell(action)
    return cell if cell is not None else str(action.candidate_id)


def new_site_id(candidate_id: str) -> str:
    """Site id of a small cell added at a candidate (as ``planner.actions.AddSmallCell``:
    ``SC-`` before the candidate's id unless it already starts so)."""
    return candidate_id if candidate_id.upper().startswith("SC-") else f"SC-{candidate_id}"


def action_site_id(action: Any, network: Network) -> str:
    """The site an action spends money on: the target cell's site, or the new site."""
    cell = target_cell(action)
    if cell is None:
        own = getattr(action, "new_site_id", None)  # the action's own rule, when it has one
        return str(own()) if callable(own) else new_site_id(str(action.candidate_id))
    return str(network.cells.loc[network.cell_index(cell), "site_id"])
