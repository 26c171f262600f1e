"""What policy allows, per action kind, before any plan exists: the bounds that narrow the
LLM grammar and the systematic candidate generator (:meth:`policies.PolicySet.bounds`).

Only deny rules narrow; warn rules are reported by the gate but never shrink the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Slack of :meth:`ParamRange.values` against float rounding when counting grid points; the
#: gate itself (:meth:`ParamRange.contains`) compares exactly.
STEP_TOL = 1e-6


def decimal_of(x: float) -> Decimal:
    """The decimal a float was written as (its shortest round-trip repr: 0.1 -> 0.1)."""
    return Decimal(repr(float(x)))


@dataclass(frozen=True)
class ParamRange:
    """Allowed values of one numeric parameter: ``[min_value, max_value]`` and, when ``step``
    is set, only ``min_value + k * step`` (k integer)."""

    min_value: float = -math.inf
    max_value: float = math.inf
    step: float | None = None

    @property
    def empty(self) -> bool:
        return self.min_value > self.max_value

    def contains(self, value: float) -> bool:
        """Whether ``value`` is allowed, exactly: no slack at the bounds (12.00001 is above a
        maximum of 12), and on a stepped range ``value - min_value`` must be a whole multiple
        of ``step`` as the numbers are written in decimal (7.5000001 is not on a 0.5 grid,
        0.3 is on a 0.1 grid although 0.3 / 0.1 is 2.9999999999999996 in floats). The value
        checked is the value stored: nothing is rounded on the way."""
        v = float(value)
        if not math.isfinite(v) or not self.min_value <= v <= self.max_value:
            return False
        if self.step is None or not math.isfinite(self.min_value):
            return True
        return (decimal_of(v) - decimal_of(self.min_value)) % decimal_of(self.step) == 0

    def values(self, limit: int = 1000) -> list[float]:
        """The allowed values when the range is stepped and finite (at most ``limit``)."""
        if self.step is None or not (math.isfinite(self.min_value)
                                     and math.isfinite(self.max_value)) or self.empty:
            raise ValueError("values() needs a finite, stepped range")
        n = math.floor((self.max_value - self.min_value) / self.step + STEP_TOL) + 1
        lo, step = decimal_of(self.min_value), decimal_of(self.step)
        # Decimal grid points, so that every value offered is one contains() accepts.
        out = [float(lo + k * step) for k in range(min(n, limit))]
        return [v for v in out if v <= self.max_value and self.contains(v)]

    def intersect(self, other: ParamRange) -> ParamRange:
        step = self.step if other.step is None else other.step
        return ParamRange(max(self.min_value, other.min_value),
                          min(self.max_value, other.max_value), step)

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None
        return {"min": num(self.min_value), "max": num(self.max_value), "step": self.step}


@dataclass(frozen=True)
class ActionBounds:
    """Everything the deny rules of a policy allow on one network.

    Attributes:
        allowed_kinds: action kinds a plan may use.
        params: kind -> parameter -> allowed range (only parameters a rule narrows).
        protected_cells: cells no action may target.
        forbidden_candidates: candidate locations inside a forbidden zone.
        denied_targets: kind -> target ids (cells or candidates) that kind may never use on
            this network, whatever its parameters (protected cells, forbidden candidates,
            sectors whose split would break an EIRP cap).
        max_power_dbm_by_cell: highest ``set_power`` value allowed per cell (EMF caps).
        max_power_dbm_by_candidate: highest small-cell power per candidate (EMF caps).
    """

    allowed_kinds: frozenset[str]
    params: dict[str, dict[str, ParamRange]] = field(default_factory=dict)
    protected_cells: frozenset[str] = frozenset()
    forbidden_candidates: frozenset[str] = frozenset()
    denied_targets: dict[str, frozenset[str]] = field(default_factory=dict)
    max_power_dbm_by_cell: dict[str, float] = field(default_factory=dict)
    max_power_dbm_by_candidate: dict[str, float] = field(default_factory=dict)

    def allows(self, kind: str, target: str | None = None) -> bool:
        """Whether ``kind`` may be used at all, and on ``target`` if given."""
        if kind not in self.allowed_kinds:
            return False
        return target is None or target not in self.denied_targets.get(kind, frozenset())

    def param_range(self, kind: str, param: str) -> ParamRange:
        """The allowed range of one parameter (unbounded when no rule narrows it)."""
        return self.params.get(kind, {}).get(param, ParamRange())

    def power_range(self, kind: str, target: str) -> ParamRange:
        """``tx_power_dbm`` range for ``set_power`` on a cell or ``add_small_cell`` at a
        candidate, with the target's EMF cap applied."""
        base = self.param_range(kind, "tx_power_dbm")
        caps = (self.max_power_dbm_by_candidate if kind == "add_small_cell"
                else self.max_power_dbm_by_cell)
        cap = caps.get(target)
        return base if cap is None else base.intersect(ParamRange(max_value=cap))

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed_kinds": sorted(self.allowed_kinds),
            "params": {k: {p: r.to_json() for p, r in v.items()} for k, v in self.params.items()},
            "protected_cells": sorted(self.protected_cells),
            "forbidden_candidates": sorted(self.forbidden_candidates),
            "denied_targets": {k: sorted(v) for k, v in self.denied_targets.items() if v},
            "max_power_dbm_by_cell": dict(sorted(self.max_power_dbm_by_cell.items())),
            "max_power_dbm_by_candidate": dict(sorted(self.max_power_dbm_by_candidate.items())),
        }


@dataclass
class BoundsBuilder:
    """Mutable collector the rules narrow in turn (see ``RuleBase.narrow``)."""

    allowed_kinds: set[str]
    params: dict[str, dict[str, ParamRange]] = field(default_factory=dict)
    protected_cells: set[str] = field(default_factory=set)
    forbidden_candidates: set[str] = field(default_factory=set)
    denied_targets: dict[str, set[str]] = field(default_factory=dict)
    max_power_dbm_by_cell: dict[str, float] = field(default_factory=dict)
    max_power_dbm_by_candidate: dict[str, float] = field(default_factory=dict)

    def narrow_param(self, kind: str, param: str, rng: ParamRange) -> None:
        cur = self.params.setdefault(kind, {}).get(param, ParamRange())
        self.params[kind][param] = cur.intersect(rng)

    def deny_target(self, kind: str, target: str) -> None:
        self.denied_targets.setdefault(kind, set()).add(target)

    def cap_power(self, table: dict[str, float], target: str, value: float) -> None:
        table[target] = min(table.get(target, math.inf), value)

    def freeze(self) -> ActionBounds:
        return ActionBounds(
            allowed_kinds=frozenset(self.allowed_kinds),
            params={k: dict(v) for k, v in self.params.items()},
            protected_cells=frozenset(self.protected_cells),
            forbidden_candidates=frozenset(self.forbidden_candidates),
            denied_targets={k: frozenset(v) for k, v in self.denied_targets.items()},
            max_power_dbm_by_cell=dict(self.max_power_dbm_by_cell),
            max_power_dbm_by_candidate=dict(self.max_power_dbm_by_candidate))
