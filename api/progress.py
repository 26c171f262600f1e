"""A planning job's progress: the planner's typed events (:mod:`planner.progress`) -> the
plan row's ``progress`` and ``stage``, the cancel check between stages, and the time left
``GET /plans/{id}`` shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from planner.progress import Progress, time_left

#: Progress (0..1) at the start of the planner and when its last round is done.
P_START, P_END = 0.05, 0.97


class JobCancelled(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from the progress hook when a cancel was requested."""


class StageTracker:
    """Turns the planner's progress events into (stage text, progress) and checks for cancel.

    The job's progress runs from :data:`P_START` (network loaded) to :data:`P_END` (the
    planner's last stage) in proportion to the event's ``fraction`` of the planner's work;
    it never goes back.
    """

    def __init__(self, report: Callable[[str, float], None],
                 cancelled: Callable[[], bool]) -> None:
        self.report = report
        self.cancelled = cancelled
        self.progress = P_START
        self.messages: list[str] = []
        self.eta_s: float | None = None

    def note(self, message: str) -> None:
        """A stage of the job's own (e.g. loading the network) at the current progress."""
        self.messages.append(message)
        self.report(message[:200], self.progress)
        if self.cancelled():
            raise JobCancelled()

    def __call__(self, event: Progress) -> None:
        p = P_START + (P_END - P_START) * min(1.0, max(0.0, event.fraction))
        self.progress = max(self.progress, min(p, P_END))
        self.eta_s = event.eta_s
        self.note(event.message)


def eta_s(progress: float, started_at: datetime | None, updated_at: datetime | None,
          now: datetime, max_rounds: int) -> float | None:
    """Estimated seconds left of a running job at ``now``: the planner's pace until its last
    report (``updated_at``), less the time since (None before the planner's first
    linearisation, or without timestamps)."""
    if started_at is None or updated_at is None:
        return None
    done = (progress - P_START) / (P_END - P_START)
    left = time_left(done, (updated_at - started_at).total_seconds(), max_rounds)
    if left is None:
        return None
    return round(max(0.0, left - (now - updated_at).total_seconds()), 1)
