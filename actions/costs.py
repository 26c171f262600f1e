"""The cost catalogue of planning actions: defaults in actions/costs_default.yaml, a user
file by path."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twin.errors import InputFileError


class CostItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capex_eur: float = Field(ge=0)
    opex_eur_per_year: float = Field(ge=0)
    source: str = ""


class CostCatalogue(BaseModel):
    """Prices per action kind (``upgrade_mimo`` per ``"from->to"`` layers)."""

    model_config = ConfigDict(extra="forbid")
    currency: str = "EUR"
    horizon_years: float = Field(1.0, ge=0, le=30)
    actions: dict[str, CostItem | dict[str, CostItem]]

    def item(self, kind: str, variant: str | None = None) -> CostItem:
        entry = self.actions.get(kind)
        if entry is None:
            raise InputFileError(f"the cost catalogue has no price for action kind {kind!r}; "
                                 f"add it under 'actions:'")
        if isinstance(entry, CostItem):
            return entry
        if variant is None or variant not in entry:
            raise InputFileError(f"the cost catalogue has no price for {kind} {variant!r}; "
                                 f"it has {sorted(entry)}")
        return entry[variant]


@dataclass(frozen=True)
class Cost:
    """What one action costs: CAPEX, yearly OPEX, and the amount charged to the budget."""

    capex_eur: float
    opex_eur_per_year: float
    total_eur: float

    @classmethod
    def stated(cls, total_eur: float) -> Cost:
        """An amount a plan states for an action the catalogue cannot price: all of it
        counted as CAPEX."""
        return cls(float(total_eur), 0.0, float(total_eur))

    def to_json(self) -> dict[str, float]:
        return {"capex_eur": self.capex_eur, "opex_eur_per_year": self.opex_eur_per_year,
                "total_eur": self.total_eur}


def load_costs(path: str | Path | None = None) -> CostCatalogue:
    """Read a cost catalogue (YAML); ``None`` gives the shipped defaults."""
    if path is None:
        text = (resources.files("actions") / "costs_default.yaml").read_text()
        where = "the default cost catalogue"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputFileError(f"cost catalogue {str(p)!r} not found")
        text = p.read_text()
        where = str(p)
    try:
        data: Any = yaml.safe_load(text)
        return CostCatalogue.model_validate(data)
    except yaml.YAMLError as exc:
        raise InputFileError(f"{where} is not valid YAML: {exc}") from exc
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise InputFileError(f"{where} nests mappings/lists too deeply for a cost "
                             "catalogue") from None
    except ValidationError as exc:
        raise InputFileError(f"{where} is not a valid cost catalogue: {exc}") from exc
