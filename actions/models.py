"""Planning actions: a pydantic discriminated union on ``kind`` (``extra="forbid"``).

The same models give validation of user/API input, the API schema, and (narrowed per request
to existing ids and policy bounds) the JSON schema that constrains the LLM's output.
Costs are not part of an action (nobody may set their own price): :func:`actions.pricing.price`
reads them from the cost catalogue. Every action kind is one class here; the kind lists,
their numeric parameters and :data:`ActionKind` derive from these classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from actions import sites
from twin.network import Network

RATIONALE_MAX = 300
ID_MAX = 64

#: Fields of an action that are not parameters: its kind, target and rationale.
NON_PARAMETERS = ("kind", "rationale", "cell_id", "candidate_id")


class ActionBase(BaseModel):
    """What every action has: a ``kind`` (each subclass fixes it), a target and a rationale.

    ``kind`` is declared by each subclass as a one-value ``Literal`` (the union's
    discriminator); it is not a field here so that the fields keep their order in the JSON
    schema and in ``model_dump``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: whether the action builds a new site (and so needs a site acquired and approved).
    new_site: ClassVar[bool] = False
    if TYPE_CHECKING:
        kind: str

    rationale: str = Field("", max_length=RATIONALE_MAX,
                           description="why this change helps, in a planner's words")

    def knob(self) -> tuple[str, str]:
        """(target, knob) pair: at most one action per pair in a plan."""
        raise NotImplementedError

    def target_id(self) -> str:
        """The id the action is about: its existing cell, or its candidate location."""
        raise NotImplementedError

    def target_cell(self) -> str | None:
        """The existing cell the action changes (None for a new small cell)."""
        return None

    def target_cells(self) -> list[str]:
        """The existing cells the action changes."""
        cell = self.target_cell()
        return [] if cell is None else [cell]

    def site_id(self, network: Network) -> str:
        """The site the action spends money on: the target cell's site, or the new site."""
        raise NotImplementedError

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """Names of the action's parameters (the values a ``parameter_bounds`` rule may
        narrow), in field order."""
        return tuple(n for n in cls.model_fields if n not in NON_PARAMETERS)


class CellActionBase(ActionBase):
    """An action on one existing cell."""

    cell_id: str = Field(max_length=ID_MAX, description="id of an existing cell")

    def knob(self) -> tuple[str, str]:
        return (self.cell_id, self.kind)

    def target_id(self) -> str:
        return self.cell_id

    def target_cell(self) -> str | None:
        return self.cell_id

    def site_id(self, network: Network) -> str:
        return str(network.cells.loc[network.cell_index(self.cell_id), "site_id"])


class AddSmallCell(ActionBase):
    """A new omni small cell at a candidate location, on the macro carrier (no new spectrum)."""

    kind: Literal["add_small_cell"] = "add_small_cell"
    candidate_id: str = Field(max_length=ID_MAX, description="id of a candidate location")
    tx_power_dbm: float = Field(30.0, ge=10.0, le=43.0)
    cio_db: float = Field(0.0, ge=-24.0, le=24.0)

    new_site: ClassVar[bool] = True

    def knob(self) -> tuple[str, str]:
        return (self.candidate_id, "site")

    def target_id(self) -> str:
        return self.candidate_id

    def site_id(self, network: Network) -> str:
        return self.new_site_id()

    def new_site_id(self) -> str:
        return sites.new_site_id(self.candidate_id)

    def new_cell_id(self) -> str:
        return sites.new_cell_id(self.candidate_id)


class SplitSector(CellActionBase):
    """One sector into two of half the horizontal beamwidth (+3 dB gain), both on the same
    spectrum, boresights a quarter beamwidth either side of the old one."""

    # The docstring is the JSON schema's description (API, LLM grammar): kept word for word;
    # the gain itself is actions.sites.SPLIT_GAIN_DB.

    kind: Literal["split_sector"] = "split_sector"

    def knob(self) -> tuple[str, str]:
        return (self.cell_id, "structure")


class SetTilt(CellActionBase):
    """Electrical downtilt (remote electrical tilt)."""

    kind: Literal["set_tilt"] = "set_tilt"
    elec_tilt_deg: float = Field(ge=-10.0, le=30.0)


class SetAzimuth(CellActionBase):
    kind: Literal["set_azimuth"] = "set_azimuth"
    azimuth_deg: float = Field(ge=0.0, lt=360.0)


class SetPower(CellActionBase):
    kind: Literal["set_power"] = "set_power"
    tx_power_dbm: float = Field(ge=0.0, le=60.0)


class SetCio(CellActionBase):
    """Cell individual offset (load-balancing handover/association bias)."""

    kind: Literal["set_cio"] = "set_cio"
    cio_db: float = Field(ge=-24.0, le=24.0)


class UpgradeMimo(CellActionBase):
    kind: Literal["upgrade_mimo"] = "upgrade_mimo"
    mimo_layers: Literal[4, 8]


#: Any one action, told apart by its ``kind`` (what JSON input is validated against).
AnyAction = Annotated[
    AddSmallCell | SplitSector | SetTilt | SetAzimuth | SetPower | SetCio | UpgradeMimo,
    Field(discriminator="kind"),
]
ACTION_TYPES: dict[str, type[ActionBase]] = {
    t.model_fields["kind"].default: t
    for t in (AddSmallCell, SplitSector, SetTilt, SetAzimuth, SetPower, SetCio, UpgradeMimo)
}
ACTION_KINDS: tuple[str, ...] = tuple(ACTION_TYPES)
#: The kind names as a type (for other models' fields, e.g. a policy rule's ``action_kind``).
ActionKind = Literal[ACTION_KINDS]  # type: ignore[valid-type]
#: action kind -> its parameters (:meth:`ActionBase.parameters`).
ACTION_PARAMETERS: dict[str, tuple[str, ...]] = {k: t.parameters()
                                                 for k, t in ACTION_TYPES.items()}
#: Kinds that change an existing cell (the others build a new site).
CELL_KINDS: tuple[str, ...] = tuple(k for k, t in ACTION_TYPES.items()
                                    if issubclass(t, CellActionBase))
action_adapter: TypeAdapter[Any] = TypeAdapter(AnyAction)
action_list_adapter: TypeAdapter[list[Any]] = TypeAdapter(list[AnyAction])


def parse_actions(data: Any) -> list[ActionBase]:
    """Validate a JSON-like list of actions (raises pydantic.ValidationError)."""
    return list(action_list_adapter.validate_python(data))
