"""Path loss, LOS probability and shadowing against TR 38.901 V17 (Tables 7.4.1-1, 7.4.2-1).

The reference below is an independent scalar transcription of the tables with ``math`` only; it
does not call the module's private helpers. Distances include both sides of the breakpoint.

Hand-computed checks (c = 299 792 458 m/s):

* UMa NLOS, d2D = 200 m, hBS = 25 m, hUT = 1.5 m, fc = 2 GHz:
  d3D = sqrt(200^2 + 23.5^2) = 201.376 m, log10(d3D) = 2.304007;
  d'BP = 4 (25-1)(1.5-1) 2e9 / c = 320.2 m > d2D, so PL_LOS = PL1
  = 28 + 22 x 2.304007 + 20 log10(2) = 28 + 50.688 + 6.021 = 84.709 dB;
  PL'_NLOS = 13.54 + 39.08 x 2.304007 + 6.021 - 0.6 (1.5-1.5) = 13.54 + 90.041 + 6.021
  = 109.601 dB; PL_NLOS = max(84.709, 109.601) = 109.60 dB.
* UMi street canyon LOS, d2D = 500 m, hBS = 10 m, hUT = 1.5 m, fc = 3.5 GHz:
  d3D = 500.072 m, log10 = 2.699033; d'BP = 4 x 9 x 0.5 x 3.5e9 / c = 210.1 m < d2D, so
  PL2 = 32.4 + 40 x 2.699033 + 20 log10(3.5) - 9.5 log10(210.1^2 + 8.5^2)
      = 32.4 + 107.961 + 10.881 - 44.135 = 107.11 dB.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import ValidationError
from twin.propagation import (
    SHADOWING_SIGMA_DB,
    expected_path_loss_db,
    los_probability,
    model_path_loss_db,
    path_loss_db,
    shadowing_db,
)

C = 299_792_458.0


# --- independent transcription of TR 38.901 Table 7.4.1-1 --------------------------------
def _d3d(d2d: float, h_bs: float, h_ut: float) -> float:
    return math.sqrt(d2d**2 + (h_bs - h_ut) ** 2)


def ref_uma(d2d: float, h_bs: float, h_ut: float, fc: float, los: bool) -> float:
    d2d = max(d2d, 10.0)
    d3d = _d3d(d2d, h_bs, h_ut)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / C  # h_E = 1 m
    if d2d <= d_bp:
        pl_los = 28.0 + 22.0 * math.log10(d3d) + 20.0 * math.log10(fc)
    else:
        pl_los = (28.0 + 40.0 * math.log10(d3d) + 20.0 * math.log10(fc)
                  - 9.0 * math.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    if los:
        return pl_los
    pl_nlos_prime = 13.54 + 39.08 * math.log10(d3d) + 20.0 * math.log10(fc) - 0.6 * (h_ut - 1.5)
    return max(pl_los, pl_nlos_prime)


def ref_umi(d2d: float, h_bs: float, h_ut: float, fc: float, los: bool) -> float:
    d2d = max(d2d, 10.0)
    d3d = _d3d(d2d, h_bs, h_ut)
    d_bp = 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / C
    if d2d <= d_bp:
        pl_los = 32.4 + 21.0 * math.log10(d3d) + 20.0 * math.log10(fc)
    else:
        pl_los = (32.4 + 40.0 * math.log10(d3d) + 20.0 * math.log10(fc)
                  - 9.5 * math.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    if los:
        return pl_los
    pl_nlos_prime = 35.3 * math.log10(d3d) + 22.4 + 21.3 * math.log10(fc) - 0.3 * (h_ut - 1.5)
    return max(pl_los, pl_nlos_prime)


def ref_rma(d2d: float, h_bs: float, h_ut: float, fc: float, los: bool,
            h: float = 5.0, w: float = 20.0) -> float:
    d2d = max(d2d, 10.0)
    d3d = _d3d(d2d, h_bs, h_ut)
    d_bp = 2.0 * math.pi * h_bs * h_ut * fc * 1e9 / C

    def pl1(d: float) -> float:
        return (20.0 * math.log10(40.0 * math.pi * d * fc / 3.0)
                + min(0.03 * h**1.72, 10.0) * math.log10(d)
                - min(0.044 * h**1.72, 14.77)
                + 0.002 * math.log10(h) * d)

    # PL2 = PL1(d_BP) + 40 log10(d3D / d_BP), as the table writes it.
    pl_los = pl1(d3d) if d2d <= d_bp else pl1(d_bp) + 40.0 * math.log10(d3d / d_bp)
    if los:
        return pl_los
    pl_nlos_prime = (161.04 - 7.1 * math.log10(w) + 7.5 * math.log10(h)
                     - (24.37 - 3.7 * (h / h_bs) ** 2) * math.log10(h_bs)
                     + (43.42 - 3.1 * math.log10(h_bs)) * (math.log10(d3d) - 3.0)
                     + 20.0 * math.log10(fc)
                     - (3.2 * math.log10(11.75 * h_ut) ** 2 - 4.97))
    return max(pl_los, pl_nlos_prime)


REFERENCE = {"uma": ref_uma, "umi": ref_umi, "rma": ref_rma}


def d_bp_m(scenario: str, h_bs: float, h_ut: float, fc: float) -> float:
    if scenario == "rma":
        return 2.0 * math.pi * h_bs * h_ut * fc * 1e9 / C
    return 4.0 * (h_bs - 1.0) * (h_ut - 1.0) * fc * 1e9 / C


# (scenario, h_bs, h_ut, fc): heights and carriers inside each scenario's validity range.
CASES = [
    ("uma", 25.0, 1.5, 0.8), ("uma", 25.0, 1.5, 2.0), ("uma", 25.0, 2.5, 3.5),
    ("uma", 35.0, 1.5, 6.0), ("uma", 25.0, 12.0, 2.0), ("uma", 25.0, 20.0, 28.0),
    ("umi", 10.0, 1.5, 2.0), ("umi", 10.0, 1.5, 3.5), ("umi", 10.0, 5.0, 28.0),
    ("rma", 35.0, 1.5, 0.7), ("rma", 35.0, 1.5, 2.0), ("rma", 20.0, 3.0, 3.5),
    ("rma", 150.0, 1.5, 0.9),
]


def _distances(scenario: str, h_bs: float, h_ut: float, fc: float) -> list[float]:
    bp = d_bp_m(scenario, h_bs, h_ut, fc)
    fixed = [10.0, 35.0, 120.0, 480.0, 1500.0, 4000.0]
    near_bp = [bp * f for f in (0.5, 0.98, 1.02, 2.0)] if bp > 10.0 else []
    return sorted(d for d in fixed + near_bp if 10.0 <= d <= 9000.0)


@pytest.mark.parametrize("los", [True, False])
@pytest.mark.parametrize(("scenario", "h_bs", "h_ut", "fc"), CASES)
def test_path_loss_matches_table_7_4_1_1(scenario, h_bs, h_ut, fc, los):
    d = _distances(scenario, h_bs, h_ut, fc)
    got = path_loss_db(scenario, np.array(d), h_bs, h_ut, fc, los)
    want = [REFERENCE[scenario](x, h_bs, h_ut, fc, los) for x in d]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_breakpoint_is_covered_on_both_sides():
    # Guard against a CASES table whose distances all fall on one side of d'BP.
    for scenario, h_bs, h_ut, fc in CASES:
        bp = d_bp_m(scenario, h_bs, h_ut, fc)
        d = _distances(scenario, h_bs, h_ut, fc)
        if 10.0 < bp < 4000.0:
            assert min(d) < bp < max(d), (scenario, h_bs, h_ut, fc)


def test_hand_computed_values():
    uma = float(path_loss_db("uma", 200.0, 25.0, 1.5, 2.0, False))
    assert uma == pytest.approx(109.601, abs=2e-3)
    umi = float(path_loss_db("umi", 500.0, 10.0, 1.5, 3.5, True))
    assert umi == pytest.approx(107.108, abs=2e-3)


def test_nlos_is_never_below_los():
    d = np.geomspace(10.0, 5000.0, 200)
    for scenario, h_bs in (("uma", 25.0), ("umi", 10.0), ("rma", 35.0)):
        los = path_loss_db(scenario, d, h_bs, 1.5, 2.0, True)
        nlos = path_loss_db(scenario, d, h_bs, 1.5, 2.0, False)
        assert np.all(nlos >= los - 1e-12)
        assert np.any(nlos > los + 1.0)  # NLOS' actually dominates somewhere
        assert np.all(np.diff(los) > 0) and np.all(np.diff(nlos) > 0)


def test_broadcasting_shape_and_values():
    d = np.array([[50.0], [300.0], [900.0]])  # [3, 1]
    fc = np.array([0.8, 2.0, 3.5, 6.0])       # [4]
    los = np.array([True, False, True, False])  # [4]
    got = path_loss_db("uma", d, 25.0, 1.5, fc, los)
    assert got.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert got[i, j] == pytest.approx(ref_uma(d[i, 0], 25.0, 1.5, fc[j], los[j]),
                                              abs=1e-9)
    h_bs = np.array([10.0, 25.0])[:, None, None]  # [2, 1, 1]
    assert path_loss_db("umi", d, h_bs, 1.5, fc, True).shape == (2, 3, 4)
    assert np.ndim(path_loss_db("rma", 100.0, 35.0, 1.5, 2.0, True)) == 0


def test_distance_below_10_m_is_evaluated_at_10_m():
    for scenario, h_bs in (("uma", 25.0), ("umi", 10.0), ("rma", 35.0)):
        for los in (True, False):
            got = path_loss_db(scenario, np.array([0.0, 3.0, 9.99, 10.0]), h_bs, 1.5, 2.0, los)
            assert np.all(got == got[-1])
            assert got[-1] == pytest.approx(REFERENCE[scenario](10.0, h_bs, 1.5, 2.0, los),
                                            abs=1e-9)


@pytest.mark.parametrize("bad", ["umA-x", "indoor", "", "inh"])
def test_unknown_scenario_raises(bad):
    with pytest.raises(ValidationError, match="unknown scenario"):
        path_loss_db(bad, 100.0, 25.0, 1.5, 2.0, True)
    with pytest.raises(ValidationError):
        los_probability(bad, 100.0)
    with pytest.raises(ValidationError):
        shadowing_db(bad, np.ones(3, bool), 1)


def test_bad_geometry_raises():
    with pytest.raises(ValidationError):
        path_loss_db("uma", -5.0, 25.0, 1.5, 2.0, True)
    with pytest.raises(ValidationError):
        path_loss_db("uma", np.nan, 25.0, 1.5, 2.0, True)
    with pytest.raises(ValidationError):
        path_loss_db("uma", 100.0, 25.0, 1.5, 0.0, True)


# --- LOS probability, Table 7.4.2-1 ------------------------------------------------------
def ref_p_los(scenario: str, d: float, h_ut: float) -> float:
    if scenario == "rma":
        return 1.0 if d <= 10.0 else math.exp(-(d - 10.0) / 1000.0)
    if scenario == "umi":
        return 1.0 if d <= 18.0 else 18.0 / d + math.exp(-d / 36.0) * (1.0 - 18.0 / d)
    if d <= 18.0:
        return 1.0
    c = 0.0 if h_ut <= 13.0 else ((h_ut - 13.0) / 10.0) ** 1.5  # C'(hUT), 13 < hUT <= 23
    return ((18.0 / d + math.exp(-d / 63.0) * (1.0 - 18.0 / d))
            * (1.0 + c * 5.0 / 4.0 * (d / 100.0) ** 3 * math.exp(-d / 150.0)))


@pytest.mark.parametrize("scenario", ["uma", "umi", "rma"])
@pytest.mark.parametrize("h_ut", [1.5, 13.0, 17.5, 22.5])
def test_los_probability_matches_table_7_4_2_1(scenario, h_ut):
    d = np.array([1.0, 10.0, 18.0, 18.5, 40.0, 100.0, 250.0, 600.0, 2000.0])
    got = los_probability(scenario, d, h_ut)
    want = [ref_p_los(scenario, x, h_ut) for x in d]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.all((got >= 0) & (got <= 1))


def test_uma_los_probability_rises_with_ut_height_above_13_m():
    # C'(hUT) > 0 only above 13 m: the high-floor UT sees the BS more often.
    d = np.array([100.0, 200.0, 400.0])
    low, at13, high = (los_probability("uma", d, h) for h in (1.5, 13.0, 20.0))
    np.testing.assert_array_equal(low, at13)
    assert np.all(high > at13 * 1.2)
    # UMi has no height term.
    np.testing.assert_array_equal(los_probability("umi", d, 1.5), los_probability("umi", d, 20.0))


# --- the twin's form (one mast to many points) ---------------------------------------------
def ref_expected(scenario: str, d: float, h_bs: float, h_ut: float, fc: float) -> float:
    p = ref_p_los(scenario, d, h_ut)
    lin = (p * 10.0 ** (-REFERENCE[scenario](d, h_bs, h_ut, fc, True) / 10.0)
           + (1.0 - p) * 10.0 ** (-REFERENCE[scenario](d, h_bs, h_ut, fc, False) / 10.0))
    return -10.0 * math.log10(lin)


@pytest.mark.parametrize("scenario", ["uma", "umi", "rma"])
def test_twin_form_matches_the_scalar_reference(scenario):
    # The link gains call model_path_loss_db with scalar heights and carrier (one mast to an
    # array of bins): every los_model, both sides of the breakpoint and of 10 m / 18 m.
    d = np.r_[0.0, 1.0, 9.99, 10.0, 17.9, 18.0, 18.1, np.geomspace(20.0, 6000.0, 60)]
    for h_bs in (6.0, 25.0, 35.0):
        for h_ut in (1.5, 15.0):
            for fc in (0.8, 3.5):
                for model in ("los", "nlos"):
                    want = [REFERENCE[scenario](x, h_bs, h_ut, fc, model == "los") for x in d]
                    got = model_path_loss_db(scenario, d, h_bs, h_ut, fc, model)
                    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
                want = [ref_expected(scenario, x, h_bs, h_ut, fc) for x in d]
                got = model_path_loss_db(scenario, d, h_bs, h_ut, fc, "expected")
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
                np.testing.assert_allclose(expected_path_loss_db(scenario, d, h_bs, h_ut, fc),
                                           want, rtol=0, atol=1e-9)


# --- shadowing ---------------------------------------------------------------------------
def test_shadowing_same_seed_same_samples():
    los = np.random.default_rng(0).random((50, 40)) < 0.5
    a = shadowing_db("uma", los, 123)
    b = shadowing_db("uma", los, 123)
    c = shadowing_db("uma", los, 124)
    assert a.shape == los.shape
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(shadowing_db("umi", los, g1), shadowing_db("umi", los, g2))


@pytest.mark.parametrize(("scenario", "sigma_los", "sigma_nlos"),
                         [("uma", 4.0, 6.0), ("umi", 4.0, 7.82), ("rma", 4.0, 8.0)])
def test_shadowing_std_matches_table_sigma(scenario, sigma_los, sigma_nlos):
    # Table 7.4.1-1 sigma_SF (RMa LOS: the PL1 value); 40 000 samples each -> std error ~0.35 %.
    assert SHADOWING_SIGMA_DB[scenario] == (sigma_los, sigma_nlos)
    los = np.zeros(80_000, dtype=bool)
    los[:40_000] = True
    s = shadowing_db(scenario, los, 2024)
    assert abs(s[los].mean()) < 0.1
    assert abs(s[~los].mean()) < 0.15
    assert s[los].std() == pytest.approx(sigma_los, rel=0.03)
    assert s[~los].std() == pytest.approx(sigma_nlos, rel=0.03)
