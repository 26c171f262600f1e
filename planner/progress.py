"""How far a plan has got: the typed events :func:`planner.loop.plan_network` reports.

The loop calls its ``progress`` callback once after each stage with a :class:`Progress`: the
stage (a fixed name, never parsed from text), the round, the fraction of the planner's work
done and a human message. Consumers (the API's job runner, ``celltwin plan --verbose``) read
the fields; the message is for people and may be reworded freely.

The fraction counts linearisations, which dominate the work (one twin what-if per candidate):
the first one and one after each round but the last, ``max_iterations`` in all. The time left
is the time so far scaled by the work left (a linear estimate, known once the first
linearisation is done).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

#: The planner's stages, in the order they happen (``sites``, ``round``, ``relinearised``,
#: ``frontier`` and ``work_order`` may be absent or, for the rounds, repeat).
Stage = Literal["base", "sites", "candidates", "sensitivities", "round", "relinearised",
                "stop", "frontier", "work_order", "gate", "done"]

#: Fraction of the work done when each stage ends (the rounds are spread between
#: :data:`LOOP_START` and :data:`LOOP_END` by :func:`fraction`).
LOOP_START, LOOP_END = 0.08, 0.92
_FIXED: dict[str, float] = {"base": 0.03, "sites": 0.05, "candidates": LOOP_START,
                            "stop": LOOP_END, "frontier": 0.95, "work_order": 0.97,
                            "gate": 0.99, "done": 1.0}


@dataclass(frozen=True)
class Progress:
    """One stage of a plan done.

    Attributes:
        stage: which stage ended (:data:`Stage`).
        round: the select-verify round it belongs to (1-based; None outside the rounds).
        fraction: the planner's work done, 0..1, never decreasing within one plan.
        message: what happened, in words (for people, not for parsing).
        elapsed_s: seconds since the plan started.
        eta_s: estimated seconds left (None until the first linearisation is done).
    """

    stage: Stage
    round: int | None
    fraction: float
    message: str
    elapsed_s: float
    eta_s: float | None


ProgressCallback = Callable[[Progress], None]


def fraction(stage: Stage, round_: int | None, max_rounds: int) -> float:
    """The work done (0..1) when ``stage`` of round ``round_`` ends, with at most
    ``max_rounds`` select-verify rounds (= linearisations)."""
    if stage in _FIXED:
        return _FIXED[stage]
    done = {"sensitivities": 1.0, "round": (round_ or 1) + 0.1,
            "relinearised": (round_ or 1) + 1.0}[stage]
    return LOOP_START + (LOOP_END - LOOP_START) * min(1.0, done / max(1, max_rounds))


def time_left(done: float, elapsed_s: float, max_rounds: int) -> float | None:
    """Seconds left when ``done`` (0..1) of the work took ``elapsed_s``: the rest at the same
    pace; None before the first linearisation ends (the pace of the set-up says little)."""
    if not done >= fraction("sensitivities", None, max_rounds):
        return None
    return max(0.0, elapsed_s * (1.0 - done) / done)


class ProgressReporter:
    """Builds the :class:`Progress` events of one plan and hands them to ``callback``.

    Args:
        callback: the consumer (None: events are dropped).
        max_rounds: the plan's ``max_iterations``.
        clock: seconds (monotonic); the test suite passes a fake one.
    """

    def __init__(self, callback: ProgressCallback | None, max_rounds: int,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.callback = callback
        self.max_rounds = max(1, int(max_rounds))
        self.clock = clock
        self.t0 = clock()
        self.done = 0.0

    def __call__(self, stage: Stage, message: str, round_: int | None = None) -> None:
        self.done = max(self.done, fraction(stage, round_, self.max_rounds))
        if self.callback is None:
            return
        elapsed = self.clock() - self.t0
        eta = time_left(self.done, elapsed, self.max_rounds)
        self.callback(Progress(stage, round_, self.done, message, elapsed, eta))
