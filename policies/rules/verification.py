"""Rules on the verified result of a plan (the twin's ``before``/``after`` KPIs and per-cell
results, as written by ``celltwin plan --json``):

- ``max_load``: no cell above ``max_prb_util`` after the change (peak PRB utilisation);
- ``min_coverage``: coverage after at least ``min_coverage`` and/or not lower than before by
  more than ``max_drop``;
- ``neighbour_harm``: no cell's PRB utilisation may rise by more than ``max_util_increase``
  and no cell's 5th-percentile user throughput may fall by more than
  ``max_p5_drop_fraction`` of its value before (cells present before and after; the two
  halves of a split sector are compared with the sector they replace).

These read numbers the gate cannot recompute without running the twin; a plan that carries
none fails them (verify a plan before it goes to the gate).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from policies.plan import PlanContext, number
from policies.results import Outcome
from policies.rules.base import RuleBase

NO_KPIS = "the plan carries no verified KPIs ({what}); run verification before the gate"


class MaxLoadRule(RuleBase):
    kind: Literal["max_load"] = "max_load"
    max_prb_util: float = Field(gt=0, le=1)

    def evaluate(self, ctx: PlanContext) -> Outcome:
        after = ctx.kpis("after") or {}
        values = {"peak": number(after.get("peak_prb_util"))}
        for row in ctx.cells("cells_after") or []:
            values[row["cell_id"]] = number(row.get("prb_util"))
        known = {k: v for k, v in values.items() if v is not None}
        if not known:
            return Outcome(False, NO_KPIS.format(what="after.peak_prb_util"), {})
        peak = max(known.values())
        over = sorted((k for k, v in known.items() if v > self.max_prb_util + 1e-9 and
                       k != "peak"))
        ok = peak <= self.max_prb_util + 1e-9
        detail: dict[str, Any] = {"peak_prb_util": peak, "max_prb_util": self.max_prb_util,
                                  "cells_over": over}
        busiest = f" (cells {', '.join(over[:5])})" if over else ""
        return Outcome(ok, f"peak PRB utilisation after {peak:.3f} "
                       f"{'<=' if ok else '>'} {self.max_prb_util:.2f}{busiest}", detail)


class MinCoverageRule(RuleBase):
    kind: Literal["min_coverage"] = "min_coverage"
    min_coverage: float | None = Field(None, ge=0, le=1)
    max_drop: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self) -> MinCoverageRule:
        if self.min_coverage is None and self.max_drop is None:
            raise ValueError("give min_coverage, max_drop or both")
        return self

    def evaluate(self, ctx: PlanContext) -> Outcome:
        after = number((ctx.kpis("after") or {}).get("coverage"))
        before = number((ctx.kpis("before") or {}).get("coverage"))
        if after is None:
            return Outcome(False, NO_KPIS.format(what="after.coverage"), {})
        problems, parts = [], [f"coverage after {after:.3f}"]
        if self.min_coverage is not None and after < self.min_coverage - 1e-9:
            problems.append(f"coverage {after:.3f} < {self.min_coverage:.3f}")
        if self.max_drop is not None:
            if before is None:
                problems.append(NO_KPIS.format(what="before.coverage"))
            else:
                parts.append(f"before {before:.3f}")
                if before - after > self.max_drop + 1e-9:
                    problems.append(f"coverage drops by {before - after:.3f} > "
                                    f"{self.max_drop:.3f}")
        detail = {"coverage_after": after, "coverage_before": before,
                  "min_coverage": self.min_coverage, "max_drop": self.max_drop}
        if problems:
            return Outcome(False, "; ".join(problems), detail)
        return Outcome(True, ", ".join(parts), detail)


class NeighbourHarmRule(RuleBase):
    kind: Literal["neighbour_harm"] = "neighbour_harm"
    max_util_increase: float | None = Field(None, ge=0, le=1)
    max_p5_drop_fraction: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self) -> NeighbourHarmRule:
        if self.max_util_increase is None and self.max_p5_drop_fraction is None:
            raise ValueError("give max_util_increase, max_p5_drop_fraction or both")
        return self

    def evaluate(self, ctx: PlanContext) -> Outcome:
        before_rows, after_rows = ctx.cells("cells_before"), ctx.cells("cells_after")
        if before_rows is None or after_rows is None:
            return Outcome(False, NO_KPIS.format(what="cells_before/cells_after"), {})
        before = {r["cell_id"]: r for r in before_rows}
        split = {str(a.cell_id) for _, a in ctx.actions if a.kind == "split_sector"}
        offenders: list[dict[str, Any]] = []
        compared = 0
        for row in after_rows:
            cid = row["cell_id"]
            ref = before.get(cid)
            if ref is None and cid[:-1] in split and cid[-1:] in ("a", "b"):
                ref = before.get(cid[:-1])
            if ref is None:
                continue
            compared += 1
            u0, u1 = number(ref.get("prb_util")), number(row.get("prb_util"))
            if (self.max_util_increase is not None and u0 is not None and u1 is not None
                    and u1 - u0 > self.max_util_increase + 1e-9):
                offenders.append({"cell_id": cid, "what": "prb_util", "before": u0,
                                  "after": u1, "problem": f"{cid} utilisation {u0:.3f} -> "
                                  f"{u1:.3f} (+{u1 - u0:.3f} > +{self.max_util_increase:.3f})"})
            t0, t1 = number(ref.get("p5_user_thr_mbps")), number(row.get("p5_user_thr_mbps"))
            if (self.max_p5_drop_fraction is not None and t0 is not None and t1 is not None
                    and t0 > 0 and t1 < t0 * (1.0 - self.max_p5_drop_fraction) - 1e-9):
                offenders.append({"cell_id": cid, "what": "p5_user_thr_mbps", "before": t0,
                                  "after": t1, "problem": f"{cid} 5th-percentile throughput "
                                  f"{t0:.2f} -> {t1:.2f} Mbit/s (-{1 - t1 / t0:.0%} > "
                                  f"-{self.max_p5_drop_fraction:.0%})"})
        if compared == 0:
            return Outcome(False, "no cell appears both before and after; cannot check harm",
                           {})
        if offenders:
            return Outcome(False, "; ".join(o["problem"] for o in offenders[:5]) +
                           (f" (+{len(offenders) - 5} more)" if len(offenders) > 5 else ""),
                           {"offenders": offenders, "cells_compared": compared})
        return Outcome(True, f"no harm beyond the margins on {compared} cells",
                       {"cells_compared": compared})
