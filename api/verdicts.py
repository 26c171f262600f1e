"""A finished plan against the policy in force.

A plan's stored verdict (``verdict_passed``, ``result.policy``) and its approvals were made
under the policy of their time (``verdict_policy_version``/``_hash``, each approval's
``policy_version``/``policy_hash``). After ``PUT /policies`` they may be stale: what counts is

* the **current verdict**: the stored one when it was made under the policy in force, else the
  gate of the policy in force on the stored result (no twin run), re-evaluated here;
* the **approvals in force**: those given under the policy in force (an approval under another
  policy is shown, marked stale, and no longer counts: the plan needs approving again);
* **approved**: at least one approval in force and the current verdict passes.

Re-evaluations are kept per (plan, revision, policy hash), so a list of plans after a policy
change costs one gate per plan, once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from api.db.models import ApprovalRow, PlanRow
from api.network_store import NetworkCache
from api.planning import blocking_violations, gate
from api.policy_store import PolicyVersion
from twin.errors import CelltwinError

Status = Literal["approved", "draft", "denied"]

_MEMO_SIZE = 4096
_memo: OrderedDict[tuple[str, int, str], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Standing:
    """Where a plan stands under the policy in force.

    ``status``: ``approved``, ``draft`` (not approved yet: the policy in force passes it or
    only its approval rules fail) or ``denied`` (another deny rule fails). ``passed``,
    ``violations`` (failed deny rule ids, approval rules included) and ``status`` are None for a
    plan without a result; ``violations`` also when only the stored flag was read (lists: the
    stored verdict is current and its detail is not loaded), and ``status`` then too if that
    flag is False (denied, or awaiting approvals: the detail tells).
    """

    version: int | None
    policy_hash: str
    stale: bool
    passed: bool | None
    violations: list[str] | None
    status: Status | None
    approved: bool


def in_force(a: ApprovalRow, pv: PolicyVersion) -> bool:
    return a.policy_hash == pv.policy.policy_hash


def approval_docs(approvals: list[ApprovalRow]) -> list[dict[str, Any]]:
    """Approvals as the gate's approval rules read them."""
    return [{"by": a.approver, "role": a.role, "at": a.approved_at.isoformat()}
            for a in approvals]


def _reevaluate(row: PlanRow, pv: PolicyVersion, cache: NetworkCache,
                approvals: list[ApprovalRow]) -> dict[str, Any]:
    key = (row.id, row.revision, pv.policy.policy_hash)
    with _lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit
    try:
        verdict = gate(cache.loaded(row.network), row.result or {}, pv.policy,
                       approval_docs(approvals))
    except CelltwinError:  # a network that no longer loads: no verdict, so not approved
        return {"passed": None}
    with _lock:
        _memo[key] = verdict
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return verdict


def standing(row: PlanRow, pv: PolicyVersion, cache: NetworkCache,
             detail: bool = True) -> Standing:
    """The plan under the policy ``pv`` (the one in force). ``detail`` False (lists): a
    verdict that is current is read from its flag, without loading the result."""
    h = pv.policy.policy_hash
    valid = [a for a in row.approvals if in_force(a, pv)]
    if row.status != "done":
        return Standing(pv.version, h, False, None, None, None, False)
    stale = row.verdict_policy_hash != h
    if not stale and not detail:
        passed = row.verdict_passed
        approved = bool(valid) and passed is True
        return Standing(pv.version, h, False, passed, None,
                        None if passed is False else "approved" if approved else "draft",
                        approved)
    if row.result is None:
        return Standing(pv.version, h, stale, None, None, None, False)
    verdict = _reevaluate(row, pv, cache, valid) if stale else (row.result.get("policy") or {})
    passed = verdict.get("passed")
    passed = None if passed is None else bool(passed)
    approved = bool(valid) and passed is True
    status: Status = ("approved" if approved else
                      "denied" if passed is False and blocking_violations(verdict) else "draft")
    return Standing(pv.version, h, stale, passed,
                    [str(v.get("id")) for v in verdict.get("violations", []) or []],
                    status, approved)
