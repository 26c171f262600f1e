"""The default scenario runs, satisfies the invariants and matches its documented peak."""

from twin.invariants import check_state
from twin.scenarios import load_scenario


def test_hotspot_busy_hour_peak_is_calibrated_to_093():
    sc = load_scenario("hotspot")
    tw = sc.twin()
    st = tw.run()
    check_state(st, tw)
    assert st.converged
    assert st.kpis["busiest_cell"] == "S01-1"
    assert abs(st.kpis["peak_prb_util"] - 0.93) <= 0.02
    assert len(sc.network.candidates) >= 6
