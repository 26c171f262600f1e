"""The per-request output grammar of the LLM: the Action models narrowed to what exists and
what policy allows.

:func:`proposal_model` builds, for one request, a pydantic model whose JSON schema guidance
compiles into a token-level grammar: cell and candidate ids are enums of the ids that exist
(and are not protected or in a forbidden zone), numbers are integers within the policy bounds,
every string is bounded, and the list has at most ``max_proposals`` items. The model therefore
cannot name a cell that does not exist or a value that policy forbids, whatever the prompt
says. The output is validated again by the same model and converted to planner actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from actions.models import ACTION_KINDS, parse_actions

RATIONALE_MAX = 100


@dataclass(frozen=True)
class ProposalSpace:
    """What the LLM may propose in one request (integers: degrees, dBm, dB)."""

    cells: tuple[str, ...]
    candidates: tuple[str, ...]
    kinds: tuple[str, ...] = ACTION_KINDS
    tilt_deg: tuple[int, int] = (0, 12)
    azimuth_deg: tuple[int, int] = (0, 359)
    power_dbm: tuple[int, int] = (30, 46)
    cio_db: tuple[int, int] = (-6, 6)
    small_cell_power_dbm: tuple[int, int] = (24, 37)
    small_cell_cio_db: tuple[int, int] = (0, 9)
    mimo_layers: tuple[int, ...] = (4, 8)
    max_proposals: int = 6
    rationale_max: int = RATIONALE_MAX
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("tilt_deg", "azimuth_deg", "power_dbm", "cio_db", "small_cell_power_dbm",
                     "small_cell_cio_db"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"empty range for {name}: {lo} > {hi}")
        if self.max_proposals < 1:
            raise ValueError("max_proposals must be >= 1")


def _int(bounds: tuple[int, int]) -> Any:
    return Annotated[int, Field(ge=int(bounds[0]), le=int(bounds[1]))]


def proposal_model(space: ProposalSpace) -> type[BaseModel]:
    """A pydantic model ``{"proposals": [...]}`` for this space (see module docstring)."""
    cfg = ConfigDict(extra="forbid")
    why = (str, Field(max_length=space.rationale_max))
    variants: list[type[BaseModel]] = []
    cell_t: Any = Literal[space.cells] if space.cells else None  # type: ignore[valid-type]
    cand_t: Any = Literal[space.candidates] if space.candidates else None  # type: ignore[valid-type]

    def add(kind: str, **fields: Any) -> None:
        if kind not in space.kinds:
            return
        name = "".join(p.title() for p in kind.split("_")) + "Proposal"
        variants.append(create_model(name, __config__=cfg, kind=(Literal[kind], ...),
                                     **fields, rationale=why))

    if cand_t is not None:
        add("add_small_cell", candidate_id=(cand_t, ...),
            tx_power_dbm=(_int(space.small_cell_power_dbm), ...),
            cio_db=(_int(space.small_cell_cio_db), ...))
    if cell_t is not None:
        add("split_sector", cell_id=(cell_t, ...))
        add("set_tilt", cell_id=(cell_t, ...), elec_tilt_deg=(_int(space.tilt_deg), ...))
        add("set_azimuth", cell_id=(cell_t, ...), azimuth_deg=(_int(space.azimuth_deg), ...))
        add("set_power", cell_id=(cell_t, ...), tx_power_dbm=(_int(space.power_dbm), ...))
        add("set_cio", cell_id=(cell_t, ...), cio_db=(_int(space.cio_db), ...))
        add("upgrade_mimo", cell_id=(cell_t, ...),
            mimo_layers=(Literal[tuple(space.mimo_layers)], ...))  # type: ignore[valid-type]
    if not variants:
        raise ValueError("nothing to propose: no allowed kind has a target")
    item: Any = variants[0] if len(variants) == 1 else Annotated[
        _union(variants), Field(discriminator="kind")]
    return create_model("Proposals", __config__=cfg,
                        proposals=(list[item], Field(min_length=1,
                                                     max_length=space.max_proposals)))


def _union(types: list[type[BaseModel]]) -> Any:
    out: Any = types[0]
    for t in types[1:]:
        out = out | t
    return out


def to_actions(parsed: dict[str, Any], space: ProposalSpace) -> tuple[list[Any], list[dict]]:
    """Validate a parsed answer again and convert it to planner actions.

    Returns ``(actions, rejected)``; ``rejected`` lists items with the reason (a duplicate knob,
    or anything the narrowed model refuses, e.g. when the answer did not come from the grammar).
    """
    model = proposal_model(space)
    checked = model.model_validate(parsed)
    actions: list[Any] = []
    rejected: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for item in checked.model_dump()["proposals"]:
        action = parse_actions([item])[0]
        if action.knob() in seen:
            rejected.append({"proposal": item, "reason": "duplicate: the same knob twice"})
            continue
        seen.add(action.knob())
        actions.append(action)
    return actions, rejected
