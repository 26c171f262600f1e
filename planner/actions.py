"""Planning actions: a pydantic discriminated union on ``kind`` (``extra="forbid"``).

The same models give validation of user/API input, the API schema, and (narrowed per request
to existing ids and policy bounds) the JSON schema that constrains the LLM's output.
Costs are not part of an action (nobody may set their own price): :func:`price` reads them
from the cost catalogue.

Applying a plan (:func:`apply_actions`) is pure: parameter changes first, then sector splits
(a split inherits the parameters just set), then new small cells. Two actions on the same knob
(the same cell and kind, or the same candidate location) are a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from planner.costs import Cost, CostCatalogue
from twin.errors import ValidationError
from twin.network import Network

RATIONALE_MAX = 300
ID_MAX = 64

SMALL_CELL_DEFAULTS: dict[str, Any] = {
    "antenna": "omni", "antenna_gain_dbi": 5.0, "h_beamwidth_deg": 360.0,
    "v_beamwidth_deg": 65.0, "azimuth_deg": 0.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 0.0,
    "scenario": "umi", "mimo_layers": 2,
}


SMALL_CELL_PREFIX = "SC-"


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rationale: str = Field("", max_length=RATIONALE_MAX,
                           description="why this change helps, in a planner's words")

    def knob(self) -> tuple[str, str]:
        """(target, knob) pair: at most one action per pair in a plan."""
        raise NotImplementedError

    def target_cells(self) -> list[str]:
        return []


class _CellAction(_Action):
    cell_id: str = Field(max_length=ID_MAX, description="id of an existing cell")

    def knob(self) -> tuple[str, str]:
        return (self.cell_id, self.kind)  # type: ignore[attr-defined]

    def target_cells(self) -> list[str]:
        return [self.cell_id]


class AddSmallCell(_Action):
    """A new omni small cell at a candidate location, on the macro carrier (no new spectrum)."""

    kind: Literal["add_small_cell"] = "add_small_cell"
    candidate_id: str = Field(max_length=ID_MAX, description="id of a candidate location")
    tx_power_dbm: float = Field(30.0, ge=10.0, le=43.0)
    cio_db: float = Field(0.0, ge=-24.0, le=24.0)

    def knob(self) -> tuple[str, str]:
        return (self.candidate_id, "site")

    def new_site_id(self) -> str:
        # a candidate list that already names its sites "SC-..." keeps their names
        cid = self.candidate_id
        return cid if cid.upper().startswith(SMALL_CELL_PREFIX) else SMALL_CELL_PREFIX + cid

    def new_cell_id(self) -> str:
        return f"{self.new_site_id()}-1"


class SplitSector(_CellAction):
    """One sector into two of half the horizontal beamwidth (+3 dB gain), both on the same
    spectrum, boresights a quarter beamwidth either side of the old one."""

    kind: Literal["split_sector"] = "split_sector"

    def knob(self) -> tuple[str, str]:
        return (self.cell_id, "structure")


class SetTilt(_CellAction):
    """Electrical downtilt (remote electrical tilt)."""

    kind: Literal["set_tilt"] = "set_tilt"
    elec_tilt_deg: float = Field(ge=-10.0, le=30.0)


class SetAzimuth(_CellAction):
    kind: Literal["set_azimuth"] = "set_azimuth"
    azimuth_deg: float = Field(ge=0.0, lt=360.0)


class SetPower(_CellAction):
    kind: Literal["set_power"] = "set_power"
    tx_power_dbm: float = Field(ge=0.0, le=60.0)


class SetCio(_CellAction):
    """Cell individual offset (load-balancing handover/association bias)."""

    kind: Literal["set_cio"] = "set_cio"
    cio_db: float = Field(ge=-24.0, le=24.0)


class UpgradeMimo(_CellAction):
    kind: Literal["upgrade_mimo"] = "upgrade_mimo"
    mimo_layers: Literal[4, 8]


Action = Annotated[
    AddSmallCell | SplitSector | SetTilt | SetAzimuth | SetPower | SetCio | UpgradeMimo,
    Field(discriminator="kind"),
]
ACTION_TYPES: dict[str, type[_Action]] = {
    t.model_fields["kind"].default: t
    for t in (AddSmallCell, SplitSector, SetTilt, SetAzimuth, SetPower, SetCio, UpgradeMimo)
}
ACTION_KINDS = tuple(ACTION_TYPES)
action_adapter: TypeAdapter[Any] = TypeAdapter(Action)
action_list_adapter: TypeAdapter[list[Any]] = TypeAdapter(list[Action])


def parse_actions(data: Any) -> list[_Action]:
    """Validate a JSON-like list of actions (raises pydantic.ValidationError)."""
    return list(action_list_adapter.validate_python(data))


def split_cell_ids(cell_id: str) -> tuple[str, str]:
    return f"{cell_id}a", f"{cell_id}b"


def check_targets(network: Network, actions: Sequence[_Action]) -> None:
    """Every target exists, no knob is used twice, and upgrades go up."""
    seen: dict[tuple[str, str], int] = {}
    for i, a in enumerate(actions):
        if isinstance(a, AddSmallCell):
            network.candidate(a.candidate_id)
        else:
            network.cell_index(a.cell_id)  # type: ignore[attr-defined]
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


def apply_actions(network: Network, actions: Sequence[_Action]) -> Network:
    """The network after all actions (pure; raises on unknown ids and conflicts)."""
    check_targets(network, actions)
    cells = network.cells.copy()
    for a in actions:
        if isinstance(a, SplitSector | AddSmallCell):
            continue
        i = network.cell_index(a.cell_id)  # type: ignore[attr-defined]
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
                             "antenna_gain_dbi": float(rec["antenna_gain_dbi"]) + 3.0})
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


def price(action: _Action, network: Network, catalogue: CostCatalogue) -> Cost:
    """Cost of one action on ``network`` from the catalogue."""
    kind = action.kind  # type: ignore[attr-defined]
    variant = None
    if isinstance(action, UpgradeMimo):
        now = int(network.cells.loc[network.cell_index(action.cell_id), "mimo_layers"])
        variant = f"{now}->{action.mimo_layers}"
    item = catalogue.item(kind, variant)
    total = item.capex_eur + item.opex_eur_per_year * catalogue.horizon_years
    return Cost(item.capex_eur, item.opex_eur_per_year, total)


def action_to_json(action: _Action, cost: Cost | None = None) -> dict[str, Any]:
    """One action as the plan's JSON row: kind, targets, parameters, rationale, cost."""
    out = action.model_dump()
    out["targets"] = action.target_cells() or [action.knob()[0]]
    if cost is not None:
        out["cost"] = cost.total_eur
        out["cost_detail"] = cost.to_json()
    return out


def describe(action: _Action) -> str:
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
