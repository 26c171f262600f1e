"""Propose -> select -> verify, re-linearised around each verified plan (bounded).

1. **Propose**: the systematic generator (:mod:`planner.candidates`) around the cells above
   the target, plus whatever a ``proposer`` hook returns (the LLM proposer plugs in here);
   the policy engine removes candidates it denies.
2. **Sensitivities**: one twin what-if per candidate around the reference plan
   (:mod:`planner.sensitivity`), run on an executor (:mod:`planner.executors`).
3. **Select**: the MILP (:mod:`planner.milp`) within budget, action limit and policy rows.
4. **Verify**: the full twin with all chosen actions at once (:mod:`planner.verify`).
   The plan is accepted when the verified peak meets the target *and* the linear model
   predicted every cell within ``tolerance``. Otherwise every verified plan is excluded by a
   no-good cut; a plan better than the reference becomes the new reference: sensitivities
   are recomputed relative to it (and new candidates proposed around cells that became
   hot). A trust region bounds how many changes a round may make from the reference:
   halved after an inaccurate prediction (the model is exact one change away), doubled
   after an accurate one. Once a plan meets the target only cheaper plans are searched for.

The loop stops after ``max_iterations`` rounds or when the model has nothing new to offer; the
best verified plan wins (meets the target at the lowest cost; else the lowest peak). Every
round is recorded in ``Plan.history``.

Around the loop: before it, small-cell locations are generated at the traffic peaks of
overloaded cells that no listed candidate covers (:mod:`planner.generated_sites`); the MILP
carries the policy's neighbour-harm, coverage and load rules (:class:`_ModelRules`), and a
verified plan that breaks one is re-linearised around. After it: a plan that misses the
target or is denied gets a verified budget frontier (:mod:`planner.frontier`; a better plan
within the budget found there becomes the plan), then idle actions are pruned and the work
order written (:mod:`planner.work_order`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from actions.apply import check_targets
from actions.costs import CostCatalogue
from actions.models import RATIONALE_MAX, ActionBase
from actions.pricing import PricedAction
from actions.rows import action_to_json, describe
from actions.sites import split_cell_ids
from planner.candidates import (
    Focus,
    GeneratorOptions,
    generate_candidates,
    hot_cells,
    price_all,
    summary,
    unique,
)
from planner.executors import Executor, make_executor
from planner.frontier import Verified, best_within, explore, frontier_budgets, is_better, points
from planner.generated_sites import SiteOptions, generate_sites, generated_rows, with_candidates
from planner.milp import MilpResult, MilpSettings, QualityLimits, solve_selection
from planner.plan import DEFAULT_BUDGET_EUR, DEFAULT_MAX_ACTIONS, DEFAULT_TARGET, Plan, clean
from planner.policy_gate import (
    check_plan,
    coverage_floor,
    filter_candidates,
    harm_limit,
    linear_constraints,
    linearised_breaks,
    load_cap,
    p5_drop_limit,
)
from planner.progress import ProgressCallback, ProgressReporter
from planner.sensitivity import Linearisation, linearise
from planner.verify import Verification, cell_rows, verify
from planner.whatif import WhatIfContext
from planner.work_order import Examined, examine
from policies import PolicySet
from twin.engine import Twin
from twin.errors import CelltwinError, ValidationError
from twin.network import Network
from twin.state import State

#: Stop after this many rounds without a better verified plan.
STALL_ROUNDS = 3
STALL_TOLERANCE = 1e-3


@dataclass(frozen=True)
class PlannerSettings:
    """What the user asks for and how hard the loop tries.

    Attributes:
        target: the busy-hour (or all-day) peak PRB utilisation to reach.
        budget_eur: money available (cost catalogue units).
        max_actions: most actions in a plan (None: no limit).
        horizon: ``busy`` (the demand's busy hour) or ``day`` (min-max over 24 hours).
        solver: ``cbc`` or ``highs``.
        max_iterations: select-verify rounds at most.
        tolerance: largest acceptable |predicted - verified| per cell.
        max_util_increase: most any existing cell's utilisation may rise (soft MILP rows);
            None: the policy's ``neighbour_harm`` limit, if any.
        margin: the MILP aims at ``target - margin`` (a safety gap for model error).
        cost_weight, balance_weight: secondary objective weights (see planner.milp).
        lp_dir: folder for the audit ``.lp`` files (None: none written).
        generator: options of the systematic candidate generator.
        time_limit_s: per MILP solve.
        systematic: use the systematic generator's candidates (False: only the proposer's,
            e.g. to measure what the LLM adds on its own).
        trust_radius: most changes from the reference plan in the first round (None: any);
            later rounds adapt it (halved after an inaccurate prediction, doubled after an
            accurate one).
        prune: drop the chosen actions the verified result does not need
            (:mod:`planner.work_order`).
        frontier: when the target is missed or the plan denied, verify what a few other
            budgets would buy (:mod:`planner.frontier`).
        generate_sites: add small-cell locations at the traffic peaks of overloaded cells
            that no listed candidate covers (:mod:`planner.generated_sites`, ``sites``).
        quality_rows: carry the policy's 5th-percentile throughput and coverage rules into
            the MILP (needs per-cell throughput from every what-if); False: only the gate
            after verification checks them.
        local_whatifs: solve the what-ifs that start from the unchanged network in the
            neighbourhood each change reaches (:class:`planner.whatif.WhatIfContext` ``local``,
            twin/whatif_local.py; faster on networks of 1,000+ cells, within its tested error
            bound). Only what-ifs without quality outputs run locally, so it pays with
            ``quality_rows=False``; verification always runs the full twin.
    """

    target: float = DEFAULT_TARGET
    budget_eur: float = DEFAULT_BUDGET_EUR
    max_actions: int | None = DEFAULT_MAX_ACTIONS
    horizon: Literal["busy", "day"] = "busy"
    solver: Literal["cbc", "highs"] = "cbc"
    max_iterations: int = 5
    tolerance: float = 0.05
    margin: float = 0.02
    cost_weight: float = 0.01
    balance_weight: float = 0.01
    lp_dir: str | None = None
    generator: GeneratorOptions = field(default_factory=GeneratorOptions)
    time_limit_s: float = 30.0
    systematic: bool = True
    trust_radius: int | None = None
    max_util_increase: float | None = None
    prune: bool = True
    frontier: bool = True
    quality_rows: bool = True
    generate_sites: bool = True
    sites: SiteOptions = field(default_factory=SiteOptions)
    hours: tuple[int, ...] | None = None
    local_whatifs: bool = False

    def __post_init__(self) -> None:
        if not (np.isfinite(self.target) and 0.0 < self.target <= 10.0):
            raise ValidationError("plan", f"the target must be a utilisation in (0, 10], e.g. "
                                  f"0.5; got {self.target:g}")
        if not np.isfinite(self.budget_eur) or self.budget_eur < 0:
            raise ValidationError("plan", f"the budget must be a non-negative amount, got "
                                  f"{self.budget_eur:g}")
        if self.horizon not in ("busy", "day"):
            raise ValidationError("plan", f"the horizon must be 'busy' or 'day', got "
                                  f"{self.horizon!r}")
        if self.max_iterations < 1:
            raise ValidationError("plan", "max_iterations must be >= 1")
        if self.max_actions is not None and self.max_actions < 0:
            raise ValidationError("plan", f"the most actions per plan must be >= 0, got {self.max_actions}")
        if self.hours is not None and (not self.hours or any(
                not 0 <= h <= 23 for h in self.hours)):
            raise ValidationError("plan", f"hours must be hours of the day 0..23, got "
                                  f"{self.hours}")
        if self.tolerance <= 0 or self.margin < 0:
            raise ValidationError("plan", "tolerance must be > 0 and margin >= 0")


@dataclass(frozen=True)
class ProposalRequest:
    """What a proposer (e.g. the LLM) sees: the base twin, the current plan and its
    verified states, and the record so far. Proposed actions must refer to the base
    network's cells and candidate locations (plans are always applied to the base)."""

    twin: Twin
    network: Network
    states: tuple[State, ...]
    plan: tuple[ActionBase, ...]
    target: float
    budget_eur: float
    iteration: int
    history: tuple[dict[str, Any], ...]


Proposer = Callable[[ProposalRequest], Sequence[ActionBase]]


@dataclass
class _Round:
    chosen: tuple[int, ...]
    verification: Verification
    milp: MilpResult | None
    cost: float
    cell_ids: tuple[str, ...]
    policy_passed: bool = True
    lin: Linearisation | None = None


def _hours(twin: Twin, horizon: str, hours: tuple[int, ...] | None = None) -> tuple[int, ...]:
    if hours is not None:
        return tuple(sorted(set(hours)))
    return (twin.demand.busy_hour,) if horizon == "busy" else tuple(range(24))


def report_hour(twin: Twin, base: Verification) -> int:
    """The hour whose states a plan shows and gates: the demand's busy hour when it is planned
    for, else the planned hour (a window's) where the network without the plan peaks."""
    busy = twin.demand.busy_hour
    if busy in base.hours:
        return int(busy)
    return int(max(base.hours, key=lambda h: float(base.state_at(h).kpis["peak_prb_util"])))


def _annotate(items: list[PricedAction], lin: Linearisation, first: int) -> list[PricedAction]:
    """Add each new candidate's own effect (one twin what-if) to its rationale."""
    peak0 = float(lin.base.max(initial=0.0))
    out = list(items[:first])
    for i in range(first, len(items)):
        c = items[i]
        if not lin.valid[i]:
            out.append(c)
            continue
        peak1 = float((lin.base + lin.delta[i]).max(initial=0.0))
        note = f" [twin what-if alone: peak {peak0:.2f} -> {peak1:.2f}]"
        text = (c.action.rationale[: RATIONALE_MAX - len(note)] + note)
        out.append(dataclasses.replace(c, action=c.action.model_copy(update={"rationale": text})))
    return out


def _proposed(proposer: Proposer | None, request: ProposalRequest, twin: Twin,
              catalogue: CostCatalogue, notes: list[str]) -> list[PricedAction]:
    if proposer is None:
        return []
    out = []
    for a in proposer(request):
        try:
            check_targets(twin.network, [a])
        except CelltwinError as exc:
            notes.append(f"proposal dropped ({describe(a)}): {exc}")
            continue
        out += price_all([a], twin, catalogue, source="proposer")
    return out


def _before(base: Verification, lin: Linearisation,
            values: np.ndarray | None = None) -> np.ndarray:
    """The unchanged network's utilisation (or ``values`` ``[n_hour, n_base_cell]``, e.g. the
    5th-percentile throughput) on the model's columns ``[n_hour, n_cell]``; a split half
    compares with the sector it replaces; new cells are NaN (no limit)."""
    vals = np.asarray(base.util if values is None else values)
    util = dict(zip(base.network.cell_ids, vals.T, strict=True))
    out = np.full((len(lin.hours), len(lin.cell_ids)), np.nan)
    for c, cid in enumerate(lin.cell_ids):
        ref = util.get(cid)
        if ref is None and cid[:-1] in util and cid in split_cell_ids(cid[:-1]):
            ref = util[cid[:-1]]
        if ref is not None:
            out[:, c] = ref
    return out


@dataclass(frozen=True)
class _ModelRules:
    """The policy's linear-izable deny rules, as the MILP carries them (planner.milp)."""

    harm: float | None
    p5_drop: float | None
    coverage_floor: np.ndarray | None
    load_cap: float | None
    base_p5: np.ndarray | None

    @property
    def quality(self) -> bool:
        return self.p5_drop is not None or self.coverage_floor is not None

    @classmethod
    def of(cls, policy: PolicySet | None, twin: Twin, s: PlannerSettings,
           base: Verification) -> _ModelRules:
        net = twin.network
        harm = s.max_util_increase if s.max_util_increase is not None else \
            harm_limit(policy, net)
        p5 = p5_drop_limit(policy, net) if s.quality_rows else None
        floors = [coverage_floor(policy, net, float(st.kpis["coverage"])) for st in base.states]
        cov = np.asarray(floors, dtype=float) if s.quality_rows and floors \
            and all(f is not None for f in floors) else None
        base_p5 = base.as_result(quality=True).p5 if p5 is not None else None
        return cls(harm, p5, cov, load_cap(policy, net), base_p5)

    def aim(self, s: PlannerSettings) -> float:
        top = s.target if self.load_cap is None else min(s.target, self.load_cap)
        return max(0.0, top - s.margin)

    def milp_settings(self, s: PlannerSettings, budget: float) -> MilpSettings:
        return MilpSettings(budget_eur=budget, max_actions=s.max_actions, aim=self.aim(s),
                            cost_weight=s.cost_weight, balance_weight=s.balance_weight,
                            solver=s.solver, time_limit_s=s.time_limit_s,
                            max_util_increase=self.harm)

    def limits(self, base: Verification, lin: Linearisation
               ) -> tuple[np.ndarray | None, QualityLimits | None]:
        """(utilisation before on the model's columns, the throughput/coverage limits)."""
        before = _before(base, lin) if self.harm is not None else None
        if not self.quality:
            return before, None
        p5 = _before(base, lin, self.base_p5) if self.base_p5 is not None else None
        return before, QualityLimits(p5, self.p5_drop, self.coverage_floor)


def _affordable(items: list[PricedAction], s: PlannerSettings) -> list[PricedAction]:
    """Candidates that fit the budget and the action limit on their own (the others can
    never be selected, so their what-ifs would be wasted)."""
    if s.max_actions == 0:
        return []
    return [c for c in items if c.cost.total_eur <= s.budget_eur]


def _rank(r: _Round, target: float, use_policy: bool = True) -> tuple[float, float, float]:
    """Order of final answers: policy passed before denied, target met before missed; then
    the cheapest of those that meet the target, or the lowest peak of those that miss it."""
    met = r.verification.peak <= target and r.verification.converged
    rank = (0.0 if met else 1.0) + (0.0 if r.policy_passed or not use_policy else 2.0)
    return (rank, r.cost, r.verification.peak) if met else (rank, r.verification.peak, r.cost)


def _better(a: _Round, b: _Round | None, target: float, tol: float = 0.0,
            use_policy: bool = True) -> bool:
    """Is round ``a`` a better final answer than ``b`` (by more than ``tol`` in peak, or
    cheaper, when both are in the same class)? ``use_policy=False`` judges progress only
    (where to re-linearise): a plan the gate denies for its remaining load is still a step."""
    if b is None:
        return True
    ka, kb = _rank(a, target, use_policy), _rank(b, target, use_policy)
    if ka[0] != kb[0]:
        return ka[0] < kb[0]
    if ka[0] in (0.0, 2.0):  # both meet the target: cheaper wins, then lower peak
        return ka[1] < kb[1] - 1e-6 or (abs(ka[1] - kb[1]) <= 1e-6 and ka[2] < kb[2] - tol)
    return ka[1] < kb[1] - tol or (abs(ka[1] - kb[1]) <= tol and ka[2] < kb[2] - 1e-6
                                   and tol == 0.0)


class _Clock:
    """Wall time per stage (``Plan.timings_s``): ``with clock("verify"): ...`` adds the block's
    seconds to that stage."""

    STAGES = ("base", "candidates", "sensitivities", "optimise", "verify", "policy")

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.seconds: dict[str, float] = dict.fromkeys(self.STAGES, 0.0)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": time.perf_counter() - self.start}


@dataclass(frozen=True)
class _Run:
    """What stays fixed while one plan is searched: the request, the twin (with the generated
    locations), the network as it is over the planned hours, and the MILP's policy rules."""

    twin: Twin
    s: PlannerSettings
    catalogue: CostCatalogue
    policy: PolicySet | None
    proposer: Proposer | None
    ex: Executor
    hours: tuple[int, ...]
    base: Verification
    ctx: WhatIfContext
    rules: _ModelRules
    clock: _Clock
    report: ProgressReporter

    @property
    def n_base(self) -> int:
        return len(self.twin.network.cells)

    def gate(self, chosen: Sequence[PricedAction], ver: Verification) -> dict[str, Any]:
        """The policy gate on a verified selection (timed)."""
        with self.clock("policy"):
            return _gate(self.policy, self.twin, self.s, chosen, self.base, ver,
                         self.catalogue)


@dataclass
class _Search:
    """What the rounds change: the candidates and the model around the reference plan, the
    verified rounds, the best plan so far, the trust region, and the record."""

    items: list[PricedAction]
    focus: Focus
    covered: set[str]
    denied: list[dict[str, Any]]
    notes: list[str]
    lin: Linearisation
    reference: _Round
    radius: int | None
    n_whatifs: int
    pending_whatifs: int
    rounds: list[_Round] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    best: _Round | None = None
    first_bound: float | None = None
    stalled: int = 0
    #: the model re-linearised around a denied last round (see :func:`_round`)
    rescue_model: Linearisation | None = None


@dataclass
class _Frontier:
    """The verified plans of other budgets (:mod:`planner.frontier`); empty when not explored."""

    budgets: list[float] = field(default_factory=list)
    explored: dict[tuple[int, ...], Verified] = field(default_factory=dict)
    status: dict[float, str] = field(default_factory=dict)


def plan_network(twin: Twin, catalogue: CostCatalogue, settings: PlannerSettings | None = None,
                 executor: Executor | None = None, policy: PolicySet | None = None,
                 proposer: Proposer | None = None, scenario: str = "",
                 progress: ProgressCallback | None = None) -> Plan:
    """Plan capacity changes for ``twin``'s network (see the module docstring).

    The steps, in order: :func:`_base_state`, :func:`_with_generated_sites`,
    :func:`_first_candidates`, :func:`_first_model`, then per round :func:`_select`,
    :func:`_verify_round`, :func:`_next_radius` and :func:`_repropose`; after the rounds
    :func:`_explore_frontier`, :func:`_final_plan` (work order, :func:`assemble`,
    :func:`gate_plan`).

    Args:
        twin: the calibrated twin of the network as it is.
        catalogue: prices of the actions.
        settings: target, budget, limits (defaults: :class:`PlannerSettings`).
        executor: where what-ifs run (default: a local process pool, closed at the end).
        policy: a policy set (``policies.load_policy()``) or None.
        proposer: optional hook returning more candidate actions each round.
        scenario: a label for the plan.
        progress: called with a :class:`planner.progress.Progress` after each stage.
    """
    s = settings or PlannerSettings()
    report = ProgressReporter(progress, s.max_iterations)
    own_executor = executor is None
    ex = executor or make_executor()
    clock = _Clock()
    try:
        hours, base = _base_state(twin, s, clock, report)
        notes: list[str] = []
        with clock("candidates"):
            twin, generated = _with_generated_sites(twin, s, base, policy, report)
            items, focus, denied = _first_candidates(twin, s, catalogue, base, policy,
                                                     proposer, notes)
        report("candidates", f"candidates: {len(items)} around {list(focus.hot)} "
               f"(+{list(focus.neighbours)}), {len(focus.sites)} sites; {len(denied)} denied "
               "by policy")
        ctx = WhatIfContext.of(twin, local=s.local_whatifs)
        with clock("sensitivities"):
            rules = _ModelRules.of(policy, twin, s, base)
        run = _Run(twin, s, catalogue, policy, proposer, ex, hours, base, ctx, rules, clock,
                   report)
        search = _first_model(run, items, focus, denied, notes)
        for it in range(1, s.max_iterations + 1):
            if not _round(run, search, it):
                break
        frontier = _explore_frontier(run, search)
        plan = _final_plan(run, search, frontier, generated, scenario)
        plan.timings_s = clock.total()
        report("done", f"done: {plan.message}")
        return plan
    finally:
        if own_executor:
            ex.close()


def _base_state(twin: Twin, s: PlannerSettings, clock: _Clock, report: ProgressReporter
                ) -> tuple[tuple[int, ...], Verification]:
    """The planned hours and the network as it is over them."""
    with clock("base"):
        hours = _hours(twin, s.horizon, s.hours)
        base = verify(twin, [], hours)
    report("base", f"base: peak {base.peak:.3f} over {len(hours)} hour(s)")
    return hours, base


def _with_generated_sites(twin: Twin, s: PlannerSettings, base: Verification,
                          policy: PolicySet | None, report: ProgressReporter
                          ) -> tuple[Twin, pd.DataFrame]:
    """``twin`` with small-cell locations at the traffic peaks of overloaded cells that no
    listed candidate covers (:mod:`planner.generated_sites`), and those locations."""
    generated = pd.DataFrame()
    if not (s.generate_sites and s.generator.small_cell_power_dbm and base.peak > s.target):
        return twin, generated
    busiest = max(base.states, key=lambda st: float(np.max(np.asarray(st.prb_util))))
    generated = generate_sites(twin, busiest, hot_cells(base.states, s.target), policy, s.sites)
    if not len(generated):
        return twin, generated
    # Every later step (generator, LLM grammar, what-ifs, gate) sees the new locations as
    # listed candidates of this twin's network.
    twin = Twin(with_candidates(twin.network, generated), twin.demand, twin.config,
                cache=twin.cache)
    report("sites", f"generated {len(generated)} small-cell location(s) at the traffic peaks "
           f"of {sorted(set(generated['cell']))}")
    return twin, generated


def _first_candidates(twin: Twin, s: PlannerSettings, catalogue: CostCatalogue,
                      base: Verification, policy: PolicySet | None, proposer: Proposer | None,
                      notes: list[str]) -> tuple[list[PricedAction], Focus, list[dict[str, Any]]]:
    """The systematic candidates around the hot cells and the proposer's, less those the
    policy denies or the budget excludes; the generator's focus; the denials."""
    items, focus = generate_candidates(twin, base.states, s.target, catalogue, s.generator)
    if not s.systematic:
        items = []  # the focus is still needed to follow hot cells between rounds
    request = ProposalRequest(twin, twin.network, base.states, (), s.target, s.budget_eur, 0,
                              ())
    items = unique(items + _proposed(proposer, request, twin, catalogue, notes))
    items, denied = filter_candidates(policy, items, twin.network)
    return _affordable(items, s), focus, denied


def _first_model(run: _Run, items: list[PricedAction], focus: Focus,
                 denied: list[dict[str, Any]], notes: list[str]) -> _Search:
    """The sensitivities of every candidate around the network as it is: the search's start,
    with the network as it is as the reference plan."""
    with run.clock("sensitivities"):
        lin = linearise(run.ctx, items, run.hours, run.ex, (),
                        run.base.as_result(run.rules.quality), quality=run.rules.quality)
    items = _annotate(items, lin, 0)
    run.report("sensitivities", f"sensitivities: {lin.n_whatifs} what-ifs in "
               f"{lin.seconds:.1f} s")
    return _Search(items=items, focus=focus, covered=set(focus.hot), denied=denied,
                   notes=notes, lin=lin, reference=_Round((), run.base, None, 0.0, lin.cell_ids),
                   radius=run.s.trust_radius, n_whatifs=lin.n_whatifs + 1,
                   pending_whatifs=lin.n_whatifs + 1)


def _round(run: _Run, st: _Search, it: int) -> bool:
    """Select-verify round ``it``; False when the search stops after it."""
    s = run.s
    sol, rec = _select(run, st, it)
    if sol.status not in ("optimal", "feasible"):
        if st.radius is not None:
            rec["note"] = "nothing new within the trust region; region lifted"
            st.history.append(rec)
            st.radius = None
            return True
        rec["note"] = ("no cheaper plan in the model" if rec["cost_cap"] is not None
                       else "the model has no further plan")
        st.history.append(rec)
        run.report("round", f"round {it}: MILP {sol.status}; stop", it)
        return False
    rnd, gate, accepted = _verify_round(run, st, it, sol, rec)
    st.stalled = 0 if _better(rnd, st.best, s.target, STALL_TOLERANCE) else st.stalled + 1
    if _better(rnd, st.best, s.target):
        st.best = rnd
    last = it == s.max_iterations
    # The last round's plan breaks a modelled rule and no round so far passed the gate:
    # re-linearise around it anyway (no round is left to use the model, but the budget
    # frontier selects on it), as a further round would have.
    rescue = last and not accepted and run.policy is not None and not any(
        r.policy_passed for r in st.rounds) and bool(linearised_breaks(gate))
    if accepted or (last and not rescue):
        return False
    if st.stalled >= STALL_ROUNDS:
        rec["note"] = f"no better verified plan in {STALL_ROUNDS} rounds; stop"
        run.report("stop", rec["note"], it)
        return False
    st.radius = _next_radius(st.radius, rnd.chosen, st.lin.reference,
                             rnd.verification.max_abs_error, s.tolerance)
    rec["next_trust_radius"] = st.radius
    # A verified plan that breaks a rule the model carries shows where the model is wrong
    # about that rule: re-linearise around it to learn its true effect, even when its peak is
    # worse (measured: keeping the reference instead left the event-day case of
    # tests/planner/test_target_monotone.py denied at 0.7 and 0.8).
    breaks = linearised_breaks(gate)
    if breaks:
        rec["relinearised_for"] = breaks
    if not breaks and not _better(rnd, st.reference, s.target, use_policy=False):
        # Keep the reference (and its model); the cut excludes this plan.
        rec["note"] = "worse than the reference plan; reference kept"
        return True
    st.reference = rnd
    _repropose(run, st, it, rnd)
    if last:
        st.rescue_model = st.lin
        rec["note"] = ("last round denied and nothing passed yet: re-linearised for the "
                       "budget frontier")
        return False
    return True


def _select(run: _Run, st: _Search, it: int) -> tuple[MilpResult, dict[str, Any]]:
    """The MILP on the current model within the budget (only cheaper plans once one meets
    the target), the trust region and the no-good cuts of every verified plan; and the
    round's record so far."""
    s, best = run.s, st.best
    with run.clock("optimise"):
        cap = None
        if best is not None and best.verification.peak <= s.target and best.policy_passed:
            cap = best.cost - 1.0  # only a cheaper plan is worth another round
        budget = s.budget_eur if cap is None else max(0.0, min(s.budget_eur, cap))
        rows = linear_constraints(run.policy, st.items, run.twin.network)
        before, quality = run.rules.limits(run.base, st.lin)
        sol = solve_selection(st.lin, st.items, run.rules.milp_settings(s, budget), rows,
                              [r.chosen for r in st.rounds],
                              Path(s.lp_dir) if s.lp_dir else None, f"iteration_{it}",
                              run.n_base, trust_radius=st.radius, before=before,
                              quality=quality)
    if st.first_bound is None:
        st.first_bound = sol.lp_bound
    rec: dict[str, Any] = {
        "iteration": it, "n_candidates": len(st.items),
        "reference": [st.items[i].key for i in st.lin.reference],
        "what_ifs": st.pending_whatifs, "milp_status": sol.status,
        "objective": sol.objective, "lp_bound": sol.lp_bound, "lp_file": sol.lp_file,
        "cost_cap": cap, "trust_radius": st.radius,
        "solver_status": sol.solver_status, "time_limit_s": sol.time_limit_s,
        "milp_build_s": round(sol.build_seconds, 3),
    }
    st.pending_whatifs = 0  # what-ifs of the model this round used, counted once
    return sol, rec


def _verify_round(run: _Run, st: _Search, it: int, sol: MilpResult, rec: dict[str, Any]
                  ) -> tuple[_Round, dict[str, Any], bool]:
    """The full twin and the policy gate on the MILP's selection: the round, the gate's
    verdict and whether the plan is accepted (target met, policy passed, the model accurate
    within the tolerance). The round is recorded."""
    s, chosen = run.s, sol.chosen
    with run.clock("verify"):
        ver = verify(run.twin, [st.items[i].action for i in chosen], run.hours,
                     st.lin.cell_ids, sol.predicted, warm=None)
    st.n_whatifs += 1
    cost = float(sum(st.items[i].cost.total_eur for i in chosen))
    rnd = _Round(chosen, ver, sol, cost, st.lin.cell_ids, lin=st.lin)
    st.rounds.append(rnd)
    met = ver.peak <= s.target and ver.converged
    gate = run.gate([st.items[i] for i in chosen], ver)
    rnd.policy_passed = gate.get("passed") is not False
    accepted = met and rnd.policy_passed and ver.max_abs_error <= s.tolerance
    rec.update({"chosen": [st.items[i].key for i in chosen], "cost": cost,
                "predicted_peak": sol.predicted_peak, "verified_peak": ver.peak,
                "max_abs_error": ver.max_abs_error, "target_met": met,
                "policy_passed": gate.get("passed"), "accepted": accepted})
    if gate.get("passed") is False:
        rec["policy_violations"] = gate.get("violations", [])
    st.history.append(rec)
    run.report("round", f"round {it}: {len(chosen)} actions, {cost:,.0f} EUR, predicted peak "
               f"{sol.predicted_peak:.3f}, verified {ver.peak:.3f} (max error "
               f"{ver.max_abs_error:.3f})", it)
    return rnd, gate, accepted


def _next_radius(radius: int | None, chosen: Sequence[int], reference: Sequence[int],
                 max_abs_error: float, tolerance: float) -> int | None:
    """The trust region of the next round: an inaccurate step halves the number of changes
    it may make from the reference; an accurate one lets it grow again (None: no limit)."""
    step = len(set(chosen) ^ set(reference))
    if max_abs_error > tolerance:
        return max(1, (step if radius is None else min(radius, step)) // 2)
    return None if radius is None else radius * 2


def _repropose(run: _Run, st: _Search, it: int, rnd: _Round) -> None:
    """Propose around cells that became hot in round ``rnd`` (the systematic generator and the
    proposer), then re-linearise around that plan, the new reference."""
    s, twin, ver, chosen = run.s, run.twin, rnd.verification, rnd.chosen
    with run.clock("candidates"):
        plan_twin = twin.what_if(ver.network)
        extra, focus = generate_candidates(plan_twin, ver.states, s.target, run.catalogue,
                                           s.generator, exclude_cells=st.covered)
        extra = [c for c in extra if c.action.target_cells() == []
                 or all(t in set(twin.network.cell_ids) for t in c.action.target_cells())]
        extra = price_all([c.action for c in extra], twin, run.catalogue) if s.systematic \
            else []
        st.covered |= set(focus.hot)
        request = ProposalRequest(twin, ver.network, ver.states,
                                  tuple(st.items[i].action for i in chosen), s.target,
                                  s.budget_eur, it, tuple(st.history))
        extra += _proposed(run.proposer, request, twin, run.catalogue, st.notes)
        extra, denied = filter_candidates(run.policy, unique(extra, st.items), twin.network)
        extra = _affordable(extra, s)
        st.denied += denied
        first_new = len(st.items)
        st.items = st.items + extra
    with run.clock("sensitivities"):
        st.lin = linearise(run.ctx, st.items, run.hours, run.ex, chosen,
                           ver.as_result(run.rules.quality), quality=run.rules.quality)
    st.items = _annotate(st.items, st.lin, first_new)
    st.n_whatifs += st.lin.n_whatifs
    st.pending_whatifs = st.lin.n_whatifs
    run.report("relinearised", f"re-linearised around round {it}: {st.lin.n_whatifs} "
               f"what-ifs, {len(extra)} new candidates", it)


def _explore_frontier(run: _Run, st: _Search) -> _Frontier:
    """A plan that misses the target (or is denied): explore what other budgets buy; a
    verified selection within the budget that beats the loop's best replaces it."""
    s, best, base = run.s, st.best, run.base
    if not (s.frontier and best is not None and base.peak > s.target and st.items and (
            not (best.verification.peak <= s.target and best.verification.converged)
            or (run.policy is not None and not best.policy_passed))):
        return _Frontier()
    t0 = time.perf_counter()
    # The best plan's model is the most accurate near it, but only covers the candidates
    # known in its round; the last model covers all of them.
    model = best.lin if best.lin is not None and best.lin.n_items == len(st.items) else st.lin
    # After a rescue re-linearisation the newest model is the one around the last verified
    # plan; the trust region the loop learned bounds the steps from it.
    region = None
    if st.rescue_model is not None:
        model, region = st.rescue_model, st.radius
    budgets = frontier_budgets(s.budget_eur, st.items)
    pool = [Verified(r.chosen, r.verification, r.policy_passed, r.cost) for r in st.rounds]
    explored, status = _explore(run.twin, s, run.policy, run.catalogue, st.items, model, base,
                                run.hours, run.n_base, run.rules, budgets, pool, region)
    st.n_whatifs += len(explored) - len(pool)
    own = Verified(best.chosen, best.verification, best.policy_passed, best.cost)
    alt = best_within(explored, s.budget_eur, s.target)
    if alt is not None and is_better(alt, own, s.target) and best.milp is not None:
        pred_alt = model.predict(alt.chosen)
        st.best = _Round(alt.chosen, alt.verification, dataclasses.replace(
            best.milp, chosen=alt.chosen, predicted=pred_alt,
            predicted_peak=float(pred_alt.max(initial=0.0))), alt.cost_eur,
            model.cell_ids, bool(alt.policy_passed is not False), lin=model)
        st.notes.append("the budget frontier found a better verified plan within the "
                        "budget than the select-verify rounds; it is the plan")
    run.clock.seconds["frontier"] = time.perf_counter() - t0
    run.report("frontier", f"budget frontier: {len(budgets)} budget(s) explored")
    return _Frontier(budgets, explored, status)


def _predicted_rows(run: _Run, ver: Verification, pred: np.ndarray,
                    model_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Per cell at the busy hour: the model's utilisation (``pred`` on ``model_ids``; None
    for a cell the model does not have) and the twin's."""
    busy = report_hour(run.twin, run.base)
    k = run.hours.index(busy)
    index = {c: i for i, c in enumerate(model_ids)}
    rows = []
    for c, u in zip(ver.network.cell_ids, np.asarray(ver.state_at(busy).prb_util), strict=True):
        p = float(pred[k, index[c]]) if c in index and pred.shape[1] > index[c] else None
        rows.append({"cell_id": c, "prb_util": p, "verified_prb_util": float(u),
                     "error": None if p is None else p - float(u)})
    return rows


def _final_plan(run: _Run, st: _Search, frontier: _Frontier, generated: pd.DataFrame,
                scenario: str) -> Plan:
    """The best plan, its idle actions pruned and its work order written (or the network as
    it is when no round produced a plan), assembled and gated, with the budget frontier."""
    s, best, base, items = run.s, st.best, run.base, st.items
    examined: Examined | None = None
    if best is None:  # no round produced a plan: report the network as it is
        chosen: list[PricedAction] = []
        ver, pred, model_ids, bound = base, base.util, tuple(run.twin.network.cell_ids), None
    else:
        t0 = time.perf_counter()
        examined = _examine(run.twin, s, run.policy, run.catalogue, items, best, base,
                            run.hours)
        run.clock.seconds["work_order"] = time.perf_counter() - t0
        st.n_whatifs += examined.twin_runs
        kept = [best.chosen[k] for k in examined.kept]
        chosen = [items[i] for i in kept]
        ver = examined.verification
        assert best.milp is not None and best.lin is not None
        pred = best.milp.predicted if len(kept) == len(best.chosen) else best.lin.predict(kept)
        model_ids, bound = best.cell_ids, best.milp.lp_bound
        run.report("work_order", f"work order: {len(kept)} action(s) kept, "
                   f"{len(examined.dropped)} dropped ({examined.twin_runs} twin runs)")
    focus = st.focus
    plan = assemble(
        run.twin, s, run.catalogue, scenario or run.twin.network.name, base, ver, chosen,
        items, searched=best is not None, history=st.history,
        lower_bound={
            "peak_prb_util": bound, "first_model": st.first_bound,
            "method": "LP relaxation of the linearised min-max model (budget, action limit, "
                      "knob exclusivity and policy rows kept) around the chosen plan's "
                      "reference; a bound for the model, not for the twin"},
        predicted=_predicted_rows(run, ver, pred, model_ids),
        lp_file=best.milp.lp_file if best is not None and best.milp is not None else None,
        what_ifs=st.n_whatifs,
        candidates={**summary(items), "focus_hot": list(focus.hot),
                    "focus_neighbours": list(focus.neighbours),
                    "focus_sites": list(focus.sites), "denied_by_policy": st.denied,
                    "notes": st.notes, "generated": generated_rows(generated)},
        executor=f"{run.ex.name} x{run.ex.n_workers}",
        work_order=examined.rows if examined is not None else [],
        dropped=examined.dropped if examined is not None else [])
    record = getattr(run.proposer, "provenance", None)
    if callable(record):
        plan.provenance = record([c.action for c in chosen if c.source == "proposer"])
    with run.clock("policy"):
        gate_plan(plan, run.policy, run.twin.network, run.catalogue)
    run.report("gate", "policy gate: " + {True: "passed", False: "denied"}.get(
        plan.policy.get("passed"), "not checked"))
    if frontier.budgets and (not plan.target_met or plan.policy.get("passed") is False):
        if examined is not None and best is not None:  # the pruned plan is a point too
            kept_t = tuple(best.chosen[k] for k in examined.kept)
            frontier.explored.setdefault(kept_t, Verified(
                kept_t, examined.verification, examined.policy_passed,
                float(sum(items[i].cost.total_eur for i in kept_t))))
        plan.frontier = points(frontier.budgets, items, frontier.explored, frontier.status,
                               s.target)
    return plan


def assemble(twin: Twin, s: PlannerSettings, catalogue: CostCatalogue, scenario: str,
             base: Verification, ver: Verification, chosen: Sequence[PricedAction],
             pool: Sequence[PricedAction], searched: bool = True, **record: Any) -> Plan:
    """The plan of ``chosen`` (verified as ``ver``; the network as it is: ``base``) before the
    policy gate (:func:`gate_plan`).

    Args:
        pool: the candidates the plan was chosen from (the message names the cheapest when
            none fits the budget).
        searched: False when no round produced a plan (the plan is not verified).
        record: the loop's record: ``history``, ``lower_bound``, ``predicted``, ``lp_file``,
            ``what_ifs``, ``candidates``, ``executor``, ``work_order``, ``dropped`` (the
            :class:`Plan` fields; empty when not given, as for an edited plan).
    """
    busy = report_hour(twin, base)
    after, before = ver.state_at(busy), base.state_at(busy)
    met = bool(ver.peak <= s.target and ver.converged)
    history = record.pop("history", [])
    return Plan(
        scenario=scenario, target=s.target, budget_eur=s.budget_eur, horizon=s.horizon,
        solver=s.solver, actions=list(chosen), before=before, after=after,
        verified=bool(searched and met), target_met=met, converged=ver.converged,
        iterations=len(history), history=history,
        lower_bound=record.pop("lower_bound", {}), predicted=record.pop("predicted", []),
        cells_before=cell_rows(before), cells_after=cell_rows(after),
        peak_before=base.peak, peak_after=ver.peak,
        message=_message(s, base, ver, list(chosen), met, list(pool), catalogue),
        max_actions=s.max_actions, **record)


def gate_plan(plan: Plan, policy: PolicySet | None, network: Network, catalogue: CostCatalogue,
              approvals: list[dict[str, Any]] | None = None) -> None:
    """Set ``plan.policy`` to the gate's verdict on ``plan`` (with ``approvals``, when given,
    for the rules that need them); a denied plan is not verified and its message says why."""
    doc = plan.to_json(include_policy=False)
    if approvals is not None:
        doc["approvals"] = approvals
    plan.policy = check_plan(policy, doc, network, catalogue)
    if plan.policy.get("passed") is False:
        plan.verified = False
        plan.message += (" The policy gate denies this plan: it breaks "
                         + "; ".join(_rule_texts(plan.policy)) + ".")


def verify_actions(twin: Twin, catalogue: CostCatalogue, s: PlannerSettings,
                   actions: Sequence[ActionBase], policy: PolicySet | None, scenario: str = "",
                   approvals: list[dict[str, Any]] | None = None) -> Plan:
    """The plan of exactly ``actions`` (e.g. a user's edit of a plan), no search: the twin
    runs the network as it is and with all actions at once over the hours of ``s.horizon``;
    the policy gate has the last word (:func:`gate_plan`). The rounds, the model's prediction
    and the bound are empty: no model chose these actions."""
    hours = _hours(twin, s.horizon, s.hours)
    base = verify(twin, [], hours)
    ver = verify(twin, list(actions), hours)
    chosen = price_all(actions, twin, catalogue, source="user")
    plan = assemble(twin, s, catalogue, scenario or twin.network.name, base, ver, chosen,
                    chosen)
    gate_plan(plan, policy, twin.network, catalogue, approvals)
    return plan


def gate_json(s: PlannerSettings, chosen: Sequence[PricedAction], before: State, after: State
              ) -> dict[str, Any]:
    """The part of a plan's JSON the policy gate reads (actions, cost, budget, KPIs, cells)."""
    rows = []
    for c in chosen:
        row = action_to_json(c.action, c.cost)
        row["description"] = describe(c.action)
        rows.append(row)
    return clean({
        "target": s.target, "budget": s.budget_eur, "actions": rows,
        "total_cost": float(sum(c.cost.total_eur for c in chosen)), "verified": True,
        "before": before.to_json(include_cells=False)["kpis"],
        "after": after.to_json(include_cells=False)["kpis"],
        "cells_before": cell_rows(before), "cells_after": cell_rows(after)})


def _gate(policy: PolicySet | None, twin: Twin, s: PlannerSettings, chosen: Sequence[PricedAction],
          base: Verification, ver: Verification, catalogue: CostCatalogue) -> dict[str, Any]:
    if policy is None:
        return {"passed": None}
    busy = report_hour(twin, base)
    return check_plan(policy, gate_json(s, chosen, base.state_at(busy), ver.state_at(busy)),
                      twin.network, catalogue)


def _explore(twin: Twin, s: PlannerSettings, policy: PolicySet | None, catalogue: CostCatalogue,
             items: list[PricedAction], lin: Linearisation, base: Verification,
             hours: Sequence[int], n_base: int, model_rules: _ModelRules,
             budgets: Sequence[float], pool: Sequence[Verified],
             trust_radius: int | None = None
             ) -> tuple[dict[tuple[int, ...], Verified], dict[float, str]]:
    """The MILP on ``lin`` (the best plan's model) for each budget, verified and gated, added
    to the loop's verified plans (planner.frontier); ``trust_radius`` bounds the changes from
    ``lin``'s reference (None: any)."""
    rows = linear_constraints(policy, items, twin.network)
    before, quality = model_rules.limits(base, lin)

    def select(budget: float) -> tuple[str, tuple[int, ...]]:
        sol = solve_selection(lin, items, model_rules.milp_settings(s, budget), rows, (),
                              None, "frontier", n_base, with_bound=False, before=before,
                              quality=quality, trust_radius=trust_radius)
        return sol.status, sol.chosen

    def run(chosen: Sequence[PricedAction]) -> tuple[Verification, bool | None]:
        v = verify(twin, [c.action for c in chosen], hours)
        return v, _gate(policy, twin, s, chosen, base, v, catalogue).get("passed")

    return explore(budgets, items, select, run, pool)


def _examine(twin: Twin, s: PlannerSettings, policy: PolicySet | None, catalogue: CostCatalogue,
             items: Sequence[PricedAction], best: _Round, base: Verification,
             hours: Sequence[int]) -> Examined:
    """Prune the best plan's idle actions and write its work order (planner.work_order)."""
    chosen = [items[i] for i in best.chosen]

    def run(actions: Sequence[ActionBase]) -> Verification:
        return verify(twin, list(actions), hours)

    def gate(cands: Sequence[PricedAction], v: Verification) -> bool | None:
        return _gate(policy, twin, s, cands, base, v, catalogue).get("passed")

    hint = None
    if best.lin is not None:  # the model's peak without each action: the lowest is the idlest
        hint = [float(best.lin.predict([k for k in best.chosen if k != i]).max(initial=0.0))
                for i in best.chosen]
    passed = best.policy_passed if policy is not None else None
    return examine(chosen, best.verification, base, twin.network, run, gate, s.target,
                   hint, passed, do_prune=s.prune)


def _rule_texts(policy: dict[str, Any] | None, limit: int = 5) -> list[str]:
    """The denying rules of a gate verdict in a planner's words (their messages)."""
    out = []
    for v in (policy or {}).get("violations") or []:
        if isinstance(v, dict):
            text = str(v.get("message") or v.get("summary") or "")
            rid = str(v.get("rule_id") or v.get("rule") or v.get("id") or "")
            out.append(f"{rid} ({text})" if rid and text and rid not in text else text or rid)
        else:
            out.append(str(v))
    return out[:limit] + ([f"{len(out) - limit} more"] if len(out) > limit else [])


def _message(s: PlannerSettings, base: Verification, ver: Verification,
             chosen: list[PricedAction], met: bool, items: list[PricedAction],
             catalogue: CostCatalogue) -> str:
    if base.peak <= s.target:
        return (f"the network already meets the target: peak {base.peak:.3f} <= "
                f"{s.target:.3f}; nothing to do")
    cost = sum(c.cost.total_eur for c in chosen)
    if met:
        return (f"peak {base.peak:.3f} -> {ver.peak:.3f} (target {s.target:.3f}) with "
                f"{len(chosen)} action(s) for {cost:,.0f} {catalogue.currency}")
    cheapest = min((c.cost.total_eur for c in items if c.cost.total_eur > 0), default=0.0)
    hint = (f"; the cheapest paid candidate costs {cheapest:,.0f} {catalogue.currency}"
            if cheapest > s.budget_eur else "; a larger budget, more actions per plan or more "
            "candidate sites may reach it")
    if not chosen:
        return (f"no plan within a budget of {s.budget_eur:,.0f} {catalogue.currency} lowers "
                f"the peak below {base.peak:.3f}{hint}")
    return (f"target {s.target:.3f} not reached: the best verified plan gives peak "
            f"{ver.peak:.3f} (from {base.peak:.3f}) for {cost:,.0f} {catalogue.currency}{hint}")
