"""The planner's progress events (planner/progress.py) on a real small plan: stages in order,
rounds numbered, the fraction of work monotone up to 1, a time-left estimate once the first
linearisation is done; and the API's job progress follows the events, not their wording."""

from __future__ import annotations

import dataclasses

import pytest

from api.progress import P_END, P_START, JobCancelled, StageTracker
from cli.plan_cmd import progress_line
from planner.executors import SerialExecutor
from planner.loop import PlannerSettings, plan_network
from planner.progress import LOOP_END, LOOP_START, Progress, ProgressReporter, fraction

from .conftest import PlanCase


@pytest.fixture(scope="module")
def events(case: PlanCase) -> tuple[list[Progress], int]:
    seen: list[Progress] = []
    plan = plan_network(case.twin(), case.catalogue,
                        PlannerSettings(lp_dir=None, target=0.3, max_iterations=3),
                        SerialExecutor(), scenario="plan7", progress=seen.append)
    return seen, plan.iterations


def test_a_plan_reports_its_stages_in_order(events: tuple[list[Progress], int]) -> None:
    seen, iterations = events
    stages = [e.stage for e in seen]
    assert [st for st in stages[:4] if st != "sites"] == ["base", "candidates",
                                                           "sensitivities"]
    assert stages[-2:] == ["gate", "done"]
    assert "round" in stages
    loop = [e for e in seen if e.stage in ("round", "relinearised", "stop")]
    assert [e.round for e in loop] == sorted(e.round for e in loop)  # type: ignore[type-var]
    assert {e.round for e in loop} <= set(range(1, iterations + 1))
    assert all(e.round is None for e in seen if e not in loop)
    # after each round's verification but the last comes its re-linearisation (or a stop)
    rounds = [e.round for e in seen if e.stage == "round"]
    relins = [e.round for e in seen if e.stage == "relinearised"]
    assert set(relins) <= set(rounds)


def test_the_fraction_of_work_only_grows_to_one(events: tuple[list[Progress], int]) -> None:
    seen, _ = events
    done = [e.fraction for e in seen]
    assert done == sorted(done) and done[-1] == 1.0 and done[0] > 0.0
    elapsed = [e.elapsed_s for e in seen]
    assert elapsed == sorted(elapsed)
    first_lin = next(i for i, e in enumerate(seen) if e.stage == "sensitivities")
    assert all(e.eta_s is None for e in seen[:first_lin])
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in seen[first_lin:])
    assert seen[-1].eta_s == 0.0


def test_job_progress_does_not_depend_on_the_wording(events: tuple[list[Progress], int]
                                                     ) -> None:
    """The same events with other messages give the same progress (nothing is parsed)."""
    seen, _ = events

    def job_progress(evs: list[Progress]) -> list[float]:
        reports: list[tuple[str, float]] = []
        t = StageTracker(lambda m, p: reports.append((m, p)), lambda: False)
        for e in evs:
            t(e)
        return [p for _, p in reports]

    reworded = [dataclasses.replace(e, message=f"step {i} ({e.message[::-1]})")
                for i, e in enumerate(seen)]
    real = job_progress(seen)
    assert job_progress(reworded) == real
    assert real == sorted(real) and real[0] > P_START and real[-1] == pytest.approx(P_END)


def test_fraction_counts_linearisations() -> None:
    assert fraction("sensitivities", None, 3) == pytest.approx(
        LOOP_START + (LOOP_END - LOOP_START) / 3)
    assert fraction("relinearised", 2, 3) == pytest.approx(LOOP_END)
    assert fraction("round", 1, 3) < fraction("relinearised", 1, 3) < fraction("round", 2, 3)
    assert fraction("round", 9, 3) == pytest.approx(LOOP_END)  # never past the loop's share


def test_time_left_is_the_pace_so_far() -> None:
    now = [0.0]
    got: list[Progress] = []
    r = ProgressReporter(got.append, 1, clock=lambda: now[0])
    now[0] = 2.0
    r("base", "b")
    now[0] = 10.0
    r("sensitivities", "s")  # LOOP_END of the work done in 10 s
    assert got[0].eta_s is None
    assert got[1].eta_s == pytest.approx(10.0 * (1 - LOOP_END) / LOOP_END)
    assert got[1].elapsed_s == 10.0


def test_the_tracker_cancels_between_stages() -> None:
    cancel = {"now": False}
    t = StageTracker(lambda m, p: None, lambda: cancel["now"])
    ev = Progress("base", None, 0.03, "base", 0.1, None)
    t(ev)
    cancel["now"] = True
    with pytest.raises(JobCancelled):
        t(ev)


def test_verbose_lines_show_the_time_left() -> None:
    """``celltwin plan --verbose``: each stage's message, and the time left once known."""
    early = Progress("base", None, 0.03, "base: peak 0.93", 0.5, None)
    mid = Progress("round", 2, 0.6, "round 2: 3 actions", 30.0, 20.4)
    assert progress_line(early) == "celltwin plan: base: peak 0.93"
    assert progress_line(mid) == "celltwin plan: round 2: 3 actions (about 20 s left)"
    assert "left" not in progress_line(Progress("done", None, 1.0, "done: ok", 50.0, 0.0))
