"""Property test of the incremental what-if: for a random change of one cell (tilt, azimuth,
power, CIO, layers, several at once) or a random new omni cell anywhere on the grid, strong or
too weak to serve a bin, the warm-started what-if of a run twin gives the same servers and
the same utilisation as a full run of the changed network.

The network and grid are those of the engine reference test, under its tight far-field
configuration (exact links within 500 m, a 60 m far-field lattice, links to 1.5 km: the far
field, the outer links and the tiles redone around a change are all exercised) and under the
default configuration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.config import RadioConfig
from twin.engine import Twin
from twin.invariants import check_state
from twin.network import Network

from .test_engine_reference import SMALL, TIGHT, demand, grid, network

#: What a full run and a what-if may differ by: both stop at max |f(rho) - rho| < 1e-6.
ATOL_PRB_UTIL = 5e-6

_CELL_CHANGES = st.fixed_dictionaries({}, optional={
    "elec_tilt_deg": st.floats(0.0, 15.0, allow_nan=False),
    "azimuth_deg": st.floats(0.0, 359.0, allow_nan=False),
    "tx_power_dbm": st.floats(20.0, 49.0, allow_nan=False),
    "cio_db": st.floats(-9.0, 9.0, allow_nan=False),
    "mimo_layers": st.sampled_from([1, 2, 4]),
}).filter(bool)

#: Anywhere on the grid, or within 60 m of one of the 7 macro masts (where a weak cell wins
#: no bin: the what-if's window of bins whose server can change is then empty).
_NEW_CELL = st.fixed_dictionaries({
    "where": st.one_of(st.tuples(st.floats(-1350.0, 1350.0), st.floats(-1350.0, 1350.0),
                                 st.none()),
                       st.tuples(st.floats(-60.0, 60.0), st.floats(-60.0, 60.0),
                                 st.integers(0, 6))),
    "tx_power_dbm": st.floats(0.0, 37.0), "cio_db": st.floats(0.0, 9.0),
})


@pytest.fixture(scope="module", params=[TIGHT, RadioConfig()], ids=["tight-far-field", "default"])
def base(request: pytest.FixtureRequest) -> tuple[Network, Any, Twin, np.ndarray]:
    net, g = network(), grid()
    dem = demand(g)
    tw = Twin(net, dem, request.param)
    st0 = tw.run(0)
    check_state(st0, tw)
    return net, dem, tw, st0.prb_util


def _compare(base: tuple[Network, Any, Twin, np.ndarray], net2: Network) -> None:
    net, dem, tw, rho0 = base
    warm = np.r_[rho0, np.zeros(len(net2.cells) - len(net.cells))]
    wi = tw.what_if(net2)
    got = wi.run(0, warm_start=warm)
    check_state(got, wi)
    full = Twin(net2, dem, tw.config).run(0)
    assert got.converged and full.converged
    np.testing.assert_array_equal(got.serving, full.serving)
    np.testing.assert_allclose(got.res_bin["rsrp_dbm"], full.res_bin["rsrp_dbm"], atol=1e-9)
    np.testing.assert_allclose(got.prb_util, full.prb_util, atol=ATOL_PRB_UTIL)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell=st.integers(0, 20), changes=_CELL_CHANGES)
def test_what_if_of_a_cell_change_equals_a_full_run(base, cell: int,
                                                    changes: dict[str, Any]) -> None:
    net = base[0]
    _compare(base, net.with_cell_changes(str(net.cells["cell_id"].iloc[cell]), changes))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=_NEW_CELL)
def test_what_if_of_a_new_cell_equals_a_full_run(base, new: dict[str, Any]) -> None:
    net = base[0]
    x, y, mast = new["where"]
    if mast is not None:
        x += float(net.sites["x_m"].iloc[mast])
        y += float(net.sites["y_m"].iloc[mast])
    sites = pd.DataFrame({"site_id": ["NEW"], "x_m": [x], "y_m": [y]})
    cells = pd.DataFrame([{**SMALL, "cell_id": "NEW1", "site_id": "NEW",
                           "tx_power_dbm": new["tx_power_dbm"], "cio_db": new["cio_db"]}])
    _compare(base, net.with_added(sites=sites, cells=cells))
