"""What actions build on a network, as facts the policy engine reads too: the id of a new
small-cell site, the small cell's antenna, and the two halves of a split sector."""

from __future__ import annotations

from typing import Any

#: Site ids of small cells added by a plan start with this (``SC-<candidate id>``).
SMALL_CELL_PREFIX = "SC-"

#: Antenna and radio of a new small cell (the carrier is the macro layer's, see
#: :func:`actions.apply.apply_actions`).
SMALL_CELL_DEFAULTS: dict[str, Any] = {
    "antenna": "omni", "antenna_gain_dbi": 5.0, "h_beamwidth_deg": 360.0,
    "v_beamwidth_deg": 65.0, "azimuth_deg": 0.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 0.0,
    "scenario": "umi", "mimo_layers": 2,
}
SMALL_CELL_GAIN_DBI: float = float(SMALL_CELL_DEFAULTS["antenna_gain_dbi"])

#: Antenna gain each half of a split sector gains over the sector: half the horizontal
#: beamwidth concentrates the same power in half the angle (+3 dB).
SPLIT_GAIN_DB = 3.0


def new_site_id(candidate_id: str) -> str:
    """Site id of a small cell added at ``candidate_id``: ``SC-`` before the candidate's id,
    unless a candidate list already names its sites so (those keep their names)."""
    if candidate_id.upper().startswith(SMALL_CELL_PREFIX):
        return candidate_id
    return SMALL_CELL_PREFIX + candidate_id


def new_cell_id(candidate_id: str) -> str:
    """Cell id of the (one) small cell added at ``candidate_id``."""
    return f"{new_site_id(candidate_id)}-1"


def split_cell_ids(cell_id: str) -> tuple[str, str]:
    """Ids of the two halves of a split sector ``cell_id``."""
    return f"{cell_id}a", f"{cell_id}b"
