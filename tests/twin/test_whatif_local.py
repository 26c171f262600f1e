"""Local what-ifs (twin/whatif_local.py) against the full fixed point on a large network.

A generated 381-cell hex layout (127 three-sector sites, 400 m ISD, a 40 m grid of 16k bins,
loads around 0.35, some cells over 1): for random one-cell changes (tilt, azimuth, power, CIO,
several at once) and random new small cells, the local what-if's utilisation of every cell
is within LOCAL_ERROR_BOUND of a cold full run of the changed network, its neighbourhood is a
small part of the network, and every cell outside it keeps its base utilisation exactly.
The sparse Jacobian of the base linearisation equals the dense one of the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.twin.test_engine_reference import SMALL, demand, grid, network
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.network import Network
from twin.scenarios.hotspot import MACRO
from twin.scenarios.layout import hex_sites, three_sector_network_tables
from twin.whatif_local import (
    COUPLING_THRESHOLD,
    LOCAL_ERROR_BOUND,
    base_linearisation,
    local_what_if,
)

ISD_M = 400.0


def hex_case(rings: int = 6, spacing_m: float = 40.0,
             mbps_km2: float = 200.0) -> tuple[Network, Demand]:
    pos = hex_sites(rings, ISD_M)
    sites, cells = three_sector_network_tables(pos, MACRO)
    net = Network.from_tables(sites, cells, name=f"hex{rings}")
    g = Grid.covering(pos[:, 0].min() - 300.0, pos[:, 1].min() - 300.0,
                      pos[:, 0].max() + 300.0, pos[:, 1].max() + 300.0, spacing_m)
    x, y = g.xy()
    rng = np.random.default_rng(7)
    d = np.min(np.hypot(x[:, None] - pos[None, :, 0], y[:, None] - pos[None, :, 1]), axis=1)
    taper = np.exp(-0.5 * (np.maximum(d - 0.6 * ISD_M, 0.0) / 100.0) ** 2)
    spatial = mbps_km2 * g.bin_area_km2 * rng.lognormal(0.0, 0.3, g.n_bin) * taper
    return net, Demand.from_profile(g, spatial, np.ones(24))


@pytest.fixture(scope="module")
def big() -> tuple[Network, Demand, Twin, np.ndarray]:
    net, dem = hex_case()
    tw = Twin(net, dem)
    st0 = tw.run(0)
    assert st0.converged
    rho = np.asarray(st0.prb_util)
    assert 0.25 < np.median(rho) < 0.5 and rho.max() > 1.0  # loaded, some cells capped
    base_linearisation(tw, 0, rho)
    return net, dem, tw, rho


def _check(big: tuple[Network, Demand, Twin, np.ndarray], net2: Network) -> None:
    _net, dem, tw, rho0 = big
    got = local_what_if(tw, net2, 0)
    full = Twin(net2, dem).run(0)
    assert full.converged and got.converged and got.local
    err = np.abs(got.prb_util - np.asarray(full.prb_util))
    assert err.max() <= LOCAL_ERROR_BOUND, (err.max(), got.neighbourhood.size)
    n = len(net2.cells)
    assert got.neighbourhood.size < 0.25 * n
    outside = np.setdiff1d(np.arange(rho0.size), got.neighbourhood)
    np.testing.assert_array_equal(got.prb_util[outside], rho0[outside])


_CELL_CHANGES = st.fixed_dictionaries({}, optional={
    "elec_tilt_deg": st.floats(0.0, 15.0, allow_nan=False),
    "azimuth_deg": st.floats(0.0, 359.0, allow_nan=False),
    "tx_power_dbm": st.floats(38.0, 49.0, allow_nan=False),
    "cio_db": st.floats(-6.0, 6.0, allow_nan=False),
}).filter(bool)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=st.integers(0, 380), changes=_CELL_CHANGES)
def test_local_what_if_of_a_cell_change_is_within_the_bound(big, cell: int,
                                                           changes: dict[str, Any]) -> None:
    net = big[0]
    _check(big, net.with_cell_changes(str(net.cells["cell_id"].iloc[cell]), changes))


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.floats(-3000.0, 3000.0), y=st.floats(-2500.0, 2500.0),
       power=st.floats(24.0, 37.0))
def test_local_what_if_of_a_new_small_cell_is_within_the_bound(big, x: float, y: float,
                                                               power: float) -> None:
    net = big[0]
    sites = pd.DataFrame({"site_id": ["NEW"], "x_m": [x], "y_m": [y]})
    cells = pd.DataFrame([{**SMALL, "cell_id": "NEW1", "site_id": "NEW",
                           "tx_power_dbm": power, "cio_db": 3.0}])
    _check(big, net.with_added(sites=sites, cells=cells))


def test_a_stricter_threshold_is_closer(big) -> None:
    net, dem, tw, _rho0 = big
    net2 = net.with_cell_changes(str(net.cells["cell_id"].iloc[190]), {"elec_tilt_deg": 2.0})
    full = np.asarray(Twin(net2, dem).run(0).prb_util)
    loose = local_what_if(tw, net2, 0, threshold=10 * COUPLING_THRESHOLD)
    strict = local_what_if(tw, net2, 0, threshold=COUPLING_THRESHOLD / 10)
    assert loose.neighbourhood.size < strict.neighbourhood.size
    assert np.abs(strict.prb_util - full).max() < np.abs(loose.prb_util - full).max()
    assert np.abs(strict.prb_util - full).max() < COUPLING_THRESHOLD


def test_unchanged_network_and_fallbacks(big) -> None:
    net, dem, tw, rho0 = big
    # Nothing the model reads changed: the base utilisation, no neighbourhood.
    got = local_what_if(tw, net.with_cell_changes(net.cell_ids[0], {"cio_db": 0.0}), 0)
    np.testing.assert_array_equal(got.prb_util, rho0)
    # Cells removed: no local what-if; the full fixed point instead.
    keep = net.cells.iloc[3:].reset_index(drop=True)
    smaller = Network.from_tables(net.sites, keep, name="smaller")
    got = local_what_if(tw, smaller, 0)
    assert not got.local
    np.testing.assert_allclose(got.prb_util, Twin(smaller, dem).run(0).prb_util, atol=1e-5)


def test_sparse_jacobian_equals_the_dense_one() -> None:
    g = grid()
    net, dem = network(), demand(g)
    tw = Twin(net, dem)
    rho = np.asarray(tw.run(0).prb_util)
    lin = base_linearisation(tw, 0, rho)
    dense = tw.load_jacobian(dem.at(0), rho)
    sparse = lin.jac.toarray()
    sparse[:, rho >= 1.0] = 0.0
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-12 * np.abs(dense).max())


def test_what_if_rows_equal_the_join(big) -> None:
    net, _dem, tw, _rho0 = big
    net2 = net.with_cell_changes(net.cell_ids[5], {"elec_tilt_deg": 9.0})
    wi = tw.what_if(net2)
    pd.testing.assert_frame_equal(wi.assembly.rows, net2.cells_with_sites())
