"""``emf_cap``: power limits per zone (or everywhere), from EMF exposure assessments or
licence conditions: a cap on transmit power (``max_tx_power_dbm``) and/or on EIRP
(``max_eirp_dbm`` = transmit power + antenna gain, dBm).

Checked actions: ``set_power`` (the new power with the cell's gain), ``add_small_cell`` (its
power with the small-cell gain, :data:`actions.sites.SMALL_CELL_GAIN_DBI`) and
``split_sector`` (the current power with the split's +3 dB gain). Each action is judged on the
network as it was; a cell whose position cannot be placed counts as inside the zone.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from actions.models import ActionBase, AddSmallCell, SetPower, SplitSector
from actions.sites import SMALL_CELL_GAIN_DBI, SPLIT_GAIN_DB
from policies.action_bounds import BoundsBuilder, decimal_of
from policies.rules.zones import ZonedRule
from twin.network import Network


class EmfCapRule(ZonedRule):
    """Transmit-power / EIRP cap for cells inside ``zones`` (all cells when ``zones`` is
    omitted)."""

    kind: Literal["emf_cap"] = "emf_cap"
    max_tx_power_dbm: float | None = Field(None, ge=-30, le=80)
    max_eirp_dbm: float | None = Field(None, ge=-30, le=100)

    per_action = True

    @model_validator(mode="after")
    def _a_cap(self) -> EmfCapRule:
        if self.max_tx_power_dbm is None and self.max_eirp_dbm is None:
            raise ValueError("give max_tx_power_dbm, max_eirp_dbm or both")
        return self

    def power_cap(self, gain_dbi: float) -> float:
        """Highest transmit power (dBm) allowed for an antenna of ``gain_dbi``: EIRP minus
        gain in decimals as written (62.3 - 17.1 is 45.2, not 45.199999999999996), so that
        the grammar's cap and the gate's exact comparison agree."""
        caps = [decimal_of(c) for c in (self.max_tx_power_dbm,) if c is not None]
        if self.max_eirp_dbm is not None:
            caps.append(decimal_of(self.max_eirp_dbm) - decimal_of(gain_dbi))
        return float(min(caps)) if caps else math.inf

    def allows(self, power_dbm: float, gain_dbi: float) -> bool:
        """Whether ``power_dbm`` with ``gain_dbi`` is within the caps, exactly (no slack)."""
        cap = self.power_cap(gain_dbi)
        return math.isinf(cap) or decimal_of(power_dbm) <= decimal_of(cap)

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        cells = self.zone_of(network, "cells")
        c = network.cells
        for cell_id, gain, power in zip(c["cell_id"], c["antenna_gain_dbi"], c["tx_power_dbm"],
                                        strict=True):
            if cells.get(cell_id) is None:
                continue
            bounds.cap_power(bounds.max_power_dbm_by_cell, cell_id, self.power_cap(gain))
            if not self.allows(float(power), float(gain) + SPLIT_GAIN_DB):
                bounds.deny_target("split_sector", cell_id)
        for cid, zone in self.zone_of(network, "candidates").items():
            if zone is not None:
                bounds.cap_power(bounds.max_power_dbm_by_candidate, cid,
                                 self.power_cap(SMALL_CELL_GAIN_DBI))

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        if isinstance(action, AddSmallCell):
            cid = action.candidate_id
            zone = self.zone_of(network, "candidates").get(cid)
            return self._judge(f"small cell at {cid}", zone, float(action.tx_power_dbm),
                               SMALL_CELL_GAIN_DBI)
        if not isinstance(action, SetPower | SplitSector):
            return []
        cell = action.cell_id
        zone = self.zone_of(network, "cells").get(cell)
        row = network.cells.loc[network.cell_index(cell)]
        gain = float(row["antenna_gain_dbi"])
        if isinstance(action, SetPower):
            return self._judge(f"cell {cell}", zone, float(action.tx_power_dbm), gain)
        return self._judge(f"split halves of {cell}", zone, float(row["tx_power_dbm"]),
                           gain + SPLIT_GAIN_DB)

    def _judge(self, what: str, zone: str | None, power_dbm: float, gain_dbi: float
               ) -> list[str]:
        if zone is None:
            return []
        cap = self.power_cap(gain_dbi)
        if self.allows(power_dbm, gain_dbi):
            return []
        where = "" if zone == "everywhere" else (
            " (position unknown, treated as inside the zone)" if zone == "?" else
            f" in zone {zone!r}")
        eirp = power_dbm + gain_dbi
        limits = []
        if self.max_tx_power_dbm is not None:
            limits.append(f"power cap {self.max_tx_power_dbm:g} dBm")
        if self.max_eirp_dbm is not None:
            limits.append(f"EIRP cap {self.max_eirp_dbm:g} dBm")
        return [f"{what}{where}: {power_dbm!r} dBm (EIRP {eirp:g} dBm) breaks the "
                f"{' and '.join(limits)}; at most {cap:g} dBm"]
