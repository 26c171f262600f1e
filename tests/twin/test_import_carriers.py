"""Imports without counters: each operator on its own carrier, a plausible default load, and
the loads called a prior.

* a list with two PLMNs puts each operator's cells on its own carrier: adding operator B's
  cells leaves operator A's co-channel interference as it was (only bins B's cells win move);
* a list without operator codes spreads its eNBs over UNKNOWN_OPERATOR_CARRIERS carriers by
  eNB id; an explicit ``fc_ghz`` keeps every cell on it; one operator keeps the default;
* the default level (DEFAULT_MBPS_PER_CELL) gives the Munich import (one operator, 1,511
  cells) a busy-hour median PRB utilisation between 0.3 and 0.5, and the notes say the loads
  are a prior until counters are given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.engine import Twin
from twin.importers import (
    DEFAULT_CELL,
    OPERATOR_CARRIERS_GHZ,
    UNKNOWN_OPERATOR_CARRIERS,
    read_opencellid,
)
from twin.prior import scenario_from_network

MUNICH = Path(__file__).parent / "data" / "opencellid_munich_262-01.csv"


def _two_operators(tmp_path: Path) -> Path:
    rows = ["lon,lat,mcc,net,cell"]
    rng = np.random.default_rng(5)
    for op, mnc in enumerate((1, 2)):
        for k in range(12):
            enb = 1000 + 100 * op + k
            lon, lat = 11.50 + 0.01 * (k % 4) + 0.003 * op, 48.10 + 0.01 * (k // 4)
            for sector in range(3):
                d = rng.normal(0.0, 0.0005, 2)
                rows.append(f"{lon + d[0]:.5f},{lat + d[1]:.5f},262,{mnc},{enb * 256 + sector}")
    path = tmp_path / "two.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_each_operator_has_its_own_carrier(tmp_path):
    res = read_opencellid(_two_operators(tmp_path))
    cells = res.network.cells
    op = cells["cell_id"].str.split(":").str[0]
    fc = cells.groupby(op)["fc_ghz"].unique()
    assert sorted(fc.index) == ["262-1", "262-2"]
    assert fc["262-1"].tolist() == [OPERATOR_CARRIERS_GHZ[0]]
    assert fc["262-2"].tolist() == [OPERATOR_CARRIERS_GHZ[1]]
    assert any("one 20 MHz carrier per operator" in n for n in res.network.notes)
    # Operator A alone, and with B: B's cells add no interference to A's bins.
    net = res.network
    sc = scenario_from_network(net)
    tw = Twin(net, sc.demand)
    asm = tw.assembly
    a_cells = np.flatnonzero((op == "262-1").to_numpy())
    b_cells = np.flatnonzero((op == "262-2").to_numpy())
    assert set(asm.carrier[a_cells]) != set(asm.carrier[b_cells])
    interf = asm.interf  # [n_bin, n_cell] co-channel power of non-serving cells
    a_bins = np.flatnonzero(np.isin(asm.serving, a_cells))
    assert a_bins.size and interf[a_bins][:, b_cells].nnz == 0
    assert interf[a_bins][:, a_cells].nnz > 0


def test_unknown_operators_are_spread_and_explicit_carriers_kept(tmp_path):
    text = _two_operators(tmp_path).read_text().replace(",262,1,", ",-1,-1,").replace(
        ",262,2,", ",-1,-1,").replace("mcc,net", "mcc,net")
    path = tmp_path / "unknown.csv"
    path.write_text(text)
    res = read_opencellid(path)
    fc = res.network.cells["fc_ghz"]
    eci = res.network.cells["cell_id"].astype(int)
    expected = np.array(OPERATOR_CARRIERS_GHZ)[(eci // 256) % UNKNOWN_OPERATOR_CARRIERS]
    np.testing.assert_array_equal(fc.to_numpy(), expected)
    assert fc.nunique() == UNKNOWN_OPERATOR_CARRIERS
    assert any("operators unknown" in n for n in res.network.notes)
    fixed = read_opencellid(path, cell_defaults={"fc_ghz": 2.1})
    assert (fixed.network.cells["fc_ghz"] == 2.1).all()
    one = read_opencellid(MUNICH)  # a single PLMN: the default carrier
    assert (one.network.cells["fc_ghz"] == DEFAULT_CELL["fc_ghz"]).all()


def test_default_level_gives_a_plausible_busy_hour_and_says_it_is_a_prior():
    net = read_opencellid(MUNICH).network
    sc = scenario_from_network(net)
    rho = np.asarray(Twin(net, sc.demand, sc.config).run().prb_util)
    assert 0.3 <= float(np.median(rho)) <= 0.5
    assert any("loads are a prior until per-cell counters are given" in n for n in sc.notes)
