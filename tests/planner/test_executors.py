"""Serial, process-pool and Dask executors give identical sensitivities."""

from __future__ import annotations

import numpy as np
import pytest

from planner.candidates import generate_candidates
from planner.executors import (
    DASK_ENV,
    DaskExecutor,
    LocalExecutor,
    SerialExecutor,
    make_executor,
)
from planner.sensitivity import linearise
from planner.whatif import WhatIfContext
from twin.errors import ValidationError

from .conftest import PlanCase


@pytest.fixture(scope="module")
def setup(case: PlanCase):
    tw = case.twin()
    st = tw.run()
    items, _ = generate_candidates(tw, [st], 0.5, case.catalogue)
    items = items[::6]  # every 6th candidate: all kinds, few what-ifs
    return WhatIfContext.of(tw), items, (case.demand.busy_hour,)


def _same(a, b) -> None:
    assert a.cell_ids == b.cell_ids
    assert np.array_equal(a.valid, b.valid)
    np.testing.assert_array_equal(a.base, b.base)
    np.testing.assert_array_equal(a.delta, b.delta)


def test_process_pool_equals_serial(setup):
    ctx, items, hours = setup
    serial = linearise(ctx, items, hours, SerialExecutor())
    ex = LocalExecutor(workers=2)
    try:
        pooled = linearise(ctx, items, hours, ex)
        again = linearise(ctx, items, hours, ex, reference=(0,))  # pool reused
    finally:
        ex.close()
    _same(serial, pooled)
    _same(linearise(ctx, items, hours, SerialExecutor(), reference=(0,)), again)


def test_dask_local_cluster_equals_serial(setup, monkeypatch):
    distributed = pytest.importorskip("distributed")
    ctx, items, hours = setup
    serial = linearise(ctx, items, hours, SerialExecutor())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster)
        try:
            _same(serial, linearise(ctx, items, hours, ex))
        finally:
            ex.close()
        # Selection by environment variable.
        monkeypatch.setenv(DASK_ENV, cluster.scheduler_address)
        ex = make_executor()
        try:
            assert isinstance(ex, DaskExecutor) and ex.n_workers == 1
            _same(serial, linearise(ctx, items, hours, ex))
        finally:
            ex.close()


def test_selection_and_bad_input(monkeypatch):
    monkeypatch.delenv(DASK_ENV, raising=False)
    assert isinstance(make_executor(workers=1), SerialExecutor)
    ex = make_executor(workers=2)
    assert isinstance(ex, LocalExecutor) and ex.n_workers == 2
    ex.close()
    with pytest.raises(ValidationError, match="worker processes must be >= 1"):
        make_executor(workers=0)
    with pytest.raises(ValidationError, match="Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1.0)
