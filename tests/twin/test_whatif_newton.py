"""What-ifs solve their load fixed point by chord-Newton on the base twin's Jacobian.

The Jacobian of the load map is checked against central finite differences of the map itself;
the preconditioned what-if against a cold full run of the changed network (plain iteration
from 0, the reference solver) at a tight tolerance, for a tilt change, a power + CIO change
and an added small cell; and it must need fewer evaluations of the load map than the Anderson
iteration it replaces. The solver's fallback is exercised on a map with a known fixed point.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.twin.test_engine_reference import SMALL, TIGHT, demand, grid, network
from twin.engine import Twin
from twin.fixedpoint import preconditioned_iteration
from twin.invariants import check_state

#: Tight enough that the cold run's own error (residual / (1 - contraction)) is ~1e-9.
STRICT = replace(TIGHT, tolerance=1e-10, max_iterations=5000)


@pytest.fixture(scope="module")
def base_case():
    net, g = network(), grid()
    dem = demand(g)
    # 0.4 x the reference demand: the outer cells at 0.6..0.9 (none capped), coupled.
    dem = type(dem).from_profile(g, dem.at(0) * 0.4, np.ones(24))
    base = Twin(net, dem, STRICT)
    st0 = base.run(0)
    check_state(st0, base)
    return net, dem, base, st0


def changed(net, change):
    if change == "tilt":
        return net.with_cell_changes("S02-1", {"elec_tilt_deg": 10.0})
    if change == "power+cio":
        return net.with_cell_changes("S05-2", {"tx_power_dbm": 40.0, "cio_db": 3.0})
    sites = pd.DataFrame({"site_id": ["SC2"], "x_m": [-251.0], "y_m": [-143.0]})
    cells = pd.DataFrame([{**SMALL, "cell_id": "SC2", "site_id": "SC2", "cio_db": 8.0,
                           "tx_power_dbm": 37.0}])
    return net.with_added(sites=sites, cells=cells)


def test_load_jacobian_matches_finite_differences(base_case):
    _net, dem, base, st0 = base_case
    rho = np.asarray(st0.prb_util, dtype=float)
    assert 0.2 < rho.max() < 1.0  # no cap: every column is a real derivative
    load = base.load_operator(dem.at(0))
    jac = base.load_jacobian(dem.at(0), rho)
    h = 1e-6
    fd = np.empty_like(jac)
    for j in range(rho.size):
        e = np.zeros_like(rho)
        e[j] = h
        fd[:, j] = (load(rho + e) - load(rho - e)) / (2 * h)
    assert np.abs(fd).max() > 0.05  # the cells are coupled
    np.testing.assert_allclose(jac, fd, rtol=0, atol=1e-6 * np.abs(fd).max())
    # A cell's own utilisation does not interfere with its own bins.
    np.testing.assert_allclose(np.diag(jac), np.diag(fd), atol=1e-8)
    # Over the cap (rho >= 1) a cell's interference is frozen: zero column.
    capped = rho.copy()
    capped[3] = 1.2
    assert not base.load_jacobian(dem.at(0), capped)[:, 3].any()


@pytest.mark.parametrize("change", ["tilt", "power+cio", "add-cell"])
def test_preconditioned_what_if_matches_cold_run_with_fewer_evaluations(base_case, change):
    net, dem, base, st0 = base_case
    net2 = changed(net, change)
    warm = np.r_[st0.prb_util, np.zeros(len(net2.cells) - len(net.cells))]
    jac_before = base.counts["jacobians"]
    wi = base.what_if(net2)
    st = wi.run(0, warm_start=warm)
    check_state(st, wi)
    assert st.converged and st.residual < STRICT.tolerance
    assert wi.counts["load_evaluations"] == st.iterations
    # One Jacobian per base twin and hour: built by the first what-if, reused after.
    assert base.counts["jacobians"] == 1
    assert base.counts["jacobians"] - jac_before <= 1
    cold_twin = Twin(net2, dem, STRICT)
    cold = cold_twin.run(0)
    assert cold.converged
    np.testing.assert_array_equal(st.serving, cold.serving)
    np.testing.assert_allclose(st.prb_util, cold.prb_util, rtol=0, atol=1e-8)
    assert np.max(np.abs(cold.prb_util[:len(net.cells)] - st0.prb_util)) > 1e-3
    # The plain accelerated iteration (Anderson) of the same what-if: same point, more work.
    wa = base.what_if(net2, precondition=False)
    sa = wa.run(0, warm_start=warm)
    assert sa.converged
    np.testing.assert_allclose(st.prb_util, sa.prb_util, rtol=0, atol=1e-8)
    assert wi.counts["load_evaluations"] < wa.counts["load_evaluations"]
    assert wa.counts["jacobians"] == 0 and "jacobian" not in wa.timings


def test_cold_runs_and_unrelated_twins_do_not_build_jacobians(base_case):
    net, dem, _base, _st0 = base_case
    tw = Twin(net, dem, STRICT)
    st = tw.run(0)
    tw.run(0, warm_start=st.prb_util)  # warm, but no base: Anderson
    wi = tw.what_if(changed(net, "tilt"))
    wi.run(0)  # cold what-if: plain iteration from 0
    assert tw.counts["jacobians"] == 0 and wi.counts["jacobians"] == 0


def linear_case():
    rng = np.random.default_rng(3)
    a = rng.random((30, 30))
    a *= 0.8 / np.abs(np.linalg.eigvals(a)).max()
    b = rng.random(30)
    return a, b, np.linalg.solve(np.eye(30) - a, b)


def test_preconditioned_iteration_exact_and_fallback():
    a, b, exact = linear_case()

    def load(x):
        return a @ x + b

    # With the exact Jacobian one chord step lands on the fixed point (affine map): f at the
    # start, f at the fixed point.
    inv = np.linalg.inv(np.eye(30) - a)
    rho, converged, residual, its = preconditioned_iteration(
        load, exact * 0.5, lambda g: inv @ g, 1e-10, 100)
    assert converged and residual < 1e-10 and its == 2
    np.testing.assert_allclose(rho, exact, rtol=1e-9)
    # A preconditioner pointing the wrong way: the step raises the residual, the solver falls
    # back to Anderson and still converges, counting every evaluation.
    calls = []

    def counted(x):
        calls.append(1)
        return load(x)

    rho, converged, residual, its = preconditioned_iteration(
        counted, exact * 0.5, lambda g: -3.0 * g, 1e-10, 500)
    assert converged and residual < 1e-10 and its == len(calls)
    np.testing.assert_allclose(rho, exact, rtol=1e-8)
    # Too small a budget is reported, not hidden.
    rho, converged, residual, its = preconditioned_iteration(
        load, exact * 0.5, lambda g: -3.0 * g, 1e-10, 4)
    assert not converged and its == 4 and residual > 1e-10
