"""``parameter_bounds`` (a numeric range, optionally stepped, for one parameter of one action
kind) and ``allowed_actions`` (which action kinds a plan may use at all). Both are checked
action by action; as deny rules they also narrow the grammar's bounds."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from actions.models import ACTION_PARAMETERS, ActionBase, ActionKind
from policies.action_bounds import BoundsBuilder, ParamRange
from policies.rules.base import RuleBase
from policies.rules.counts import _check_kinds
from twin.network import Network


class ParameterBoundsRule(RuleBase):
    """``action_kind``'s ``parameter`` must lie in ``[min, max]`` and, with ``step``, on the
    grid ``min + k * step`` (e.g. RET tilt in whole degrees)."""

    kind: Literal["parameter_bounds"] = "parameter_bounds"
    action_kind: ActionKind
    parameter: str
    min: float | None = None
    max: float | None = None
    step: float | None = Field(None, gt=0)

    per_action = True

    @model_validator(mode="after")
    def _consistent(self) -> ParameterBoundsRule:
        allowed = ACTION_PARAMETERS[self.action_kind]
        if self.parameter not in allowed:
            raise ValueError(f"{self.action_kind} has no numeric parameter "
                             f"{self.parameter!r}; it has {list(allowed) or 'none'}")
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if self.step is not None and self.min is None:
            raise ValueError("a step needs a min (the grid starts there)")
        return self

    @property
    def range(self) -> ParamRange:
        return ParamRange(-math.inf if self.min is None else self.min,
                          math.inf if self.max is None else self.max, self.step)

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        bounds.narrow_param(self.action_kind, self.parameter, self.range)

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        if action.kind != self.action_kind:
            return []
        value = float(getattr(action, self.parameter))
        if self.range.contains(value):
            return []
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        grid = f" in steps of {self.step:g}" if self.step is not None else ""
        # repr, not :g: 12.00001 must not be shown as "12" next to a maximum of 12.
        return [f"{self.parameter} = {value!r} is outside [{lo}, {hi}]{grid}"]


class AllowedActionsRule(RuleBase):
    """Only ``action_kinds`` may be used (e.g. no azimuth changes: they need a site visit)."""

    kind: Literal["allowed_actions"] = "allowed_actions"
    action_kinds: tuple[str, ...] = Field(min_length=1)

    per_action = True

    @field_validator("action_kinds")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_kinds(v) or v

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        bounds.allowed_kinds &= set(self.action_kinds)

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        k = action.kind
        if k in self.action_kinds:
            return []
        return [f"{k} is not an allowed action kind (allowed: {', '.join(self.action_kinds)})"]


