"""The LLM in the planning loop: a ``proposer`` hook for :func:`planner.loop.plan_network`.

Each round the hook narrows the grammar to the base network's cells around the load (minus
what policy protects), the candidate sites nearest the hotspot (minus forbidden zones) and the
parameter ranges policy allows; builds the digest of the latest verified state with feedback
on the last plan; asks the model once; drops what policy denies (recorded with the reason);
and returns the rest as candidates for the MILP. Everything is kept in :attr:`rounds` for the
audit trail: prompt, raw output, parsed proposals, accepted and rejected items.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from actions.costs import CostCatalogue
from actions.models import ACTION_KINDS, ActionBase
from actions.rows import describe
from planner.llm.digest import DigestRows, build_digest
from planner.llm.grammar import ProposalSpace
from planner.llm.proposer import LLMProposer, ProposalRound
from policies import PolicySet, load_policy
from twin.network import Network
from twin.state import State

DEFAULT_RANGES: dict[str, tuple[int, int]] = {
    "tilt_deg": (0, 12), "azimuth_deg": (0, 359), "power_dbm": (30, 46), "cio_db": (-6, 6),
    "small_cell_power_dbm": (24, 37), "small_cell_cio_db": (0, 9),
}
# (field of ProposalSpace) -> (action kind, parameter) whose policy range narrows it
_POLICY_PARAMS = {
    "tilt_deg": ("set_tilt", "elec_tilt_deg"), "azimuth_deg": ("set_azimuth", "azimuth_deg"),
    "power_dbm": ("set_power", "tx_power_dbm"), "cio_db": ("set_cio", "cio_db"),
    "small_cell_power_dbm": ("add_small_cell", "tx_power_dbm"),
    "small_cell_cio_db": ("add_small_cell", "cio_db"),
}


def _narrow(default: tuple[int, int], rng: Any) -> tuple[int, int]:
    lo = default[0] if rng is None or not math.isfinite(rng.min_value) else max(
        default[0], math.ceil(rng.min_value))
    hi = default[1] if rng is None or not math.isfinite(rng.max_value) else min(
        default[1], math.floor(rng.max_value))
    return (lo, hi)


class LLMCandidateProposer:
    """Callable ``(ProposalRequest) -> list[action]`` backed by an :class:`LLMProposer`."""

    def __init__(self, llm: LLMProposer, catalogue: CostCatalogue, policy: PolicySet | None = None,
                 max_proposals: int = 6, focus_cells: int = 8, n_candidates: int = 8,
                 neighbour_cells: int = 6) -> None:
        self.llm = llm
        self.catalogue = catalogue
        self.policy = policy
        self.max_proposals = max_proposals
        self.focus_cells = focus_cells
        self.n_candidates = n_candidates
        self.neighbour_cells = neighbour_cells
        self.rounds: list[ProposalRound] = []

    # -- the space the grammar allows -------------------------------------------------------
    def space_for(self, base: Network, state: State, target: float | None = None
                  ) -> ProposalSpace:
        """The grammar's space for ``state``: the busiest cells and, with ``target``, the cells
        with spare capacity nearest the busiest one (the digest lists them as offload targets,
        so the model must be able to name them: a neighbour's CIO or uptilt is how a verified
        plan often offloads)."""
        bounds = self.policy.bounds(base) if self.policy is not None else None
        base_ids = set(base.cell_ids)
        protected = set(bounds.protected_cells) if bounds is not None else set()
        ranked = state.res_cell.sort_values("prb_util", ascending=False)["cell_id"]
        cells: list[str] = []
        for cid in ranked:
            # New cells of a plan (split halves "S01-1a", small cells) act through their parent.
            parent = cid if cid in base_ids else cid[:-1] if cid[:-1] in base_ids else None
            if parent and parent not in protected and parent not in cells:
                cells.append(parent)
            if len(cells) >= self.focus_cells:
                break
        if target is not None and cells and self.neighbour_cells > 0:
            cws = base.cells_with_sites().set_index("cell_id")
            util = state.res_cell.set_index("cell_id")["prb_util"]
            hx, hy = cws.loc[cells[0], ["x_m", "y_m"]]
            spare = [c for c in base_ids if c not in protected and c not in cells
                     and float(util.get(c, 1.0)) < target]
            spare.sort(key=lambda c: (float(np.hypot(cws.at[c, "x_m"] - hx,
                                                     cws.at[c, "y_m"] - hy)), c))
            cells += spare[:self.neighbour_cells]
        forbidden = set(bounds.forbidden_candidates) if bounds is not None else set()
        cand = base.candidates[~base.candidates["candidate_id"].isin(forbidden)]
        if len(cand) and len(cells):
            xy = base.cells_with_sites().set_index("cell_id").loc[cells[0], ["x_m", "y_m"]]
            d = ((cand["x_m"] - xy["x_m"]) ** 2 + (cand["y_m"] - xy["y_m"]) ** 2)
            cand = cand.assign(d=d).sort_values("d")
        candidates = tuple(cand["candidate_id"].head(self.n_candidates))
        kinds = tuple(k for k in ACTION_KINDS
                      if bounds is None or k in bounds.allowed_kinds)
        ranges = {}
        for name, default in DEFAULT_RANGES.items():
            kind, param = _POLICY_PARAMS[name]
            rng = bounds.param_range(kind, param) if bounds is not None else None
            lo, hi = _narrow(default, rng)
            ranges[name] = (lo, hi) if lo <= hi else None
        # A parameter policy leaves no integer value for removes its kind from the grammar.
        for name, (kind, _p) in _POLICY_PARAMS.items():
            if ranges[name] is None and kind in kinds:
                kinds = tuple(k for k in kinds if k != kind)
        ok = {k: v for k, v in ranges.items() if v is not None}
        notes = tuple(f"{k} is not allowed" for k in ACTION_KINDS if k not in kinds)
        return ProposalSpace(cells=tuple(cells), candidates=candidates, kinds=kinds,
                             max_proposals=self.max_proposals, notes=notes, **ok)

    # -- the hook ----------------------------------------------------------------------------
    def __call__(self, request: Any) -> list[ActionBase]:
        base: Network = request.twin.network
        state: State = max(request.states, key=lambda s: s.kpis["peak_prb_util"])
        space = self.space_for(base, state, request.target)
        feedback = self._feedback(request, state)
        rows = DigestRows()
        prompt = build_digest(request.network, state, space, self.catalogue, request.target,
                              request.budget_eur, feedback, rows)
        while not self.llm.fits(prompt) and rows.busiest > 1:
            rows = DigestRows(max(1, rows.busiest - 1), max(0, rows.neighbours - 2),
                              max(1, rows.candidates - 2))
            prompt = build_digest(request.network, state, space, self.catalogue,
                                  request.target, request.budget_eur, feedback, rows)
        rnd = self.llm.propose(prompt, space)
        kept: list[ActionBase] = []
        for a in rnd.actions:
            reasons = self._denials(a, base)
            if reasons:
                rnd.rejected.append({"proposal": a.model_dump(), "reason": "; ".join(reasons)})
            else:
                kept.append(a)
        rnd.actions = kept
        self.rounds.append(rnd)
        return kept

    def _denials(self, action: ActionBase, base: Network) -> list[str]:
        if self.policy is None:
            return []
        return [f"policy {v.rule_id}: {v.problem or v.message}"
                for v in self.policy.action_violations(action, base)
                if v.severity == "deny"]

    @staticmethod
    def _feedback(request: Any, state: State) -> str | None:
        """What the last verified plan achieved and where it fell short (the cells of its
        verified state still above target), for the next round's digest."""
        if not request.history:
            return None
        last = request.history[-1]
        if "verified_peak" not in last:
            return None
        chosen = [describe(a) for a in request.plan]
        over = state.res_cell[state.res_cell["prb_util"] > request.target]
        over = over.sort_values("prb_util", ascending=False).head(4)
        short = ", ".join(f"{r.cell_id!r} {r.prb_util:.0%}" for r in over.itertuples())
        return (f"the plan [{'; '.join(chosen) or 'nothing'}] reached a verified peak of "
                f"{last['verified_peak']:.0%} (target {request.target:.0%}), cost "
                f"{last.get('cost', 0):,.0f}. "
                + (f"Still above target: {short}. Propose changes for these cells."
                   if short else "Every cell is within target; propose cheaper changes."))

    def provenance(self, selected: list[ActionBase] | None = None) -> dict[str, Any]:
        """The record of every round for the plan's audit trail: model (name, path, sha256),
        settings, and per round the prompt, raw output, parsed proposals, the accepted ones
        (each marked ``selected`` when the optimiser kept it in the final plan) and the
        rejected ones with the reason."""
        chosen = [a.model_dump() for a in selected or []]
        rounds = []
        for r in self.rounds:
            rec = r.to_json()
            rec["accepted"] = [{**a, "selected": a in chosen} for a in rec["accepted"]]
            rounds.append(rec)
        ad = getattr(self.llm, "adapter", None)
        adapter = ad.to_json() if ad is not None else None
        return {"llm": {"model": self.llm.info.to_json(), "adapter": adapter,
                        "temperature": self.llm.temperature,
                        "max_tokens": self.llm.max_tokens, "n_ctx": self.llm.n_ctx,
                        "rounds": rounds,
                        "n_proposed": sum(len(r["accepted"]) + len(r["rejected"])
                                          for r in rounds),
                        "n_selected": len(chosen)}}


def llm_proposer(model: str, catalogue: CostCatalogue, policy: PolicySet | None = None,
                 adapter: str | None = None) -> LLMCandidateProposer:
    """The LLM proposer hook of :func:`planner.loop.plan_network`: ``model`` (``embedded`` or
    the path of a GGUF file, with an optional LoRA ``adapter``) narrowed by ``policy`` (None:
    the shipped rules) and priced by ``catalogue``. Loads the model now, so a bad path fails
    before any planning work."""
    llm = LLMProposer(model, adapter=adapter)
    proposer = LLMCandidateProposer(llm, catalogue,
                                    policy if policy is not None else load_policy(None))
    llm.lm  # noqa: B018  (load the model before the plan starts)
    return proposer
