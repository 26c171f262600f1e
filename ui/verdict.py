"""The verdict of a plan, first and in a planner's words: is the target met, does the policy in
force pass it (and which rules deny it), is it approved. Plan and Compare show it above
everything else, in colour, so that a denied or failed plan never reads as a success."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st


@dataclass(frozen=True)
class Verdict:
    """What a planner reads at a glance (from ``GET /plans/{id}``)."""

    target_met: bool | None
    target: float | None
    peak_before: float | None
    peak_after: float | None
    policy_passed: bool | None
    denied_by: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    approved: bool = False
    stale: bool = False

    @property
    def level(self) -> str:
        """``error`` (denied, or target not met), ``warning`` (passes, not approved yet) or
        ``success`` (target met, policy passed, approved)."""
        if self.policy_passed is False or self.target_met is False:
            return "error"
        return "success" if self.approved else "warning"

    def lines(self) -> list[str]:
        """The verdict in three short statements, most important first."""
        out = []
        if self.target_met is False:
            out.append(f"Target NOT met: the best verified plan leaves the busiest cell at "
                       f"{_pct(self.peak_after)} of its PRBs (target {_pct(self.target)}, "
                       f"today {_pct(self.peak_before)}).")
        elif self.target_met:
            out.append(f"Target met: the busiest cell goes from {_pct(self.peak_before)} to "
                       f"{_pct(self.peak_after)} of its PRBs (target {_pct(self.target)}), "
                       "verified by the twin.")
        if self.policy_passed is False:
            out.append("DENIED by the policy in force"
                       + (" (re-checked after a policy change)" if self.stale else "")
                       + ": " + ("; ".join(self.denied_by) if self.denied_by
                                 else "a deny rule fails") + ".")
        elif self.policy_passed:
            out.append("The policy in force passes it"
                       + (f" ({len(self.warnings)} warning(s))" if self.warnings else "") + ".")
        else:
            out.append("No policy verdict yet.")
        out.append("Approved." if self.approved else
                   "Not approved: it cannot be exported to the network (A1) until an approver "
                   "signs it off." if self.policy_passed is not False else
                   "Not approved, and it cannot be: the policy denies it.")
        return out


def _pct(v: float | None) -> str:
    return "?" if v is None else f"{100.0 * float(v):.0f} %"


def _texts(items: Any) -> list[str]:
    out = []
    for v in items or []:
        if isinstance(v, dict):
            rid = v.get("rule_id") or v.get("rule") or v.get("id") or ""
            msg = v.get("message") or v.get("summary") or v.get("problem") or ""
            out.append(f"{msg} [{rid}]" if rid and msg else str(msg or rid))
        else:
            out.append(str(v))
    return out


def verdict_of(job: dict[str, Any]) -> Verdict:
    """The verdict of a plan as the API returns it (the policy in force wins over the stored
    verdict)."""
    res = job.get("result") or {}
    cur = job.get("policy_current") or {}
    stored = res.get("policy") or {}
    status = cur.get("status")
    if status in ("approved", "draft"):
        passed: bool | None = True  # a draft fails only its approval rule: "not approved"
    elif status == "denied":
        passed = False
    else:
        passed = cur.get("passed", job.get("policy_passed"))
    denied = _texts(stored.get("violations"))
    if cur.get("stale") and cur.get("violations"):
        denied = [str(v) for v in cur["violations"]]
    denied = [d for d in denied if "approv" not in d.lower()] or denied
    return Verdict(target_met=res.get("target_met"), target=res.get("target"),
                   peak_before=res.get("peak_before"), peak_after=res.get("peak_after"),
                   policy_passed=passed, denied_by=denied if passed is False else [],
                   warnings=_texts(stored.get("warnings")), approved=bool(job.get("approved")),
                   stale=bool(cur.get("stale")))


def show(job: dict[str, Any]) -> Verdict:
    """The verdict banner (one coloured box, before any number of the plan)."""
    v = verdict_of(job)
    text = "  \n".join(f"**{line}**" if i == 0 else line for i, line in enumerate(v.lines()))
    box = {"error": st.error, "warning": st.warning, "success": st.success}[v.level]
    box(text, icon={"error": ":material/block:", "warning": ":material/pending:",
                    "success": ":material/check_circle:"}[v.level])
    return v
