"""Antenna pattern against TR 38.901 Table 7.3-1 (and the rotation of eq. 7.1-7/7.1-8).

A(theta, phi) = G_max - min(12 ((theta-90-tilt_e)/theta_3dB)^2 + 12 (phi/phi_3dB)^2, 30), with
each of the vertical and horizontal cuts itself floored at 30 dB. The values below are worked
out from that formula in the test, never read back from the module.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.antenna import gain_dbi, local_angles_deg, sector_gain_dbi

G_MAX = 17.0
H_BW = 65.0
V_BW = 10.0


def sector(bearing, zenith, azimuth=30.0, mech=0.0, elec=0.0, g=G_MAX, hbw=H_BW, vbw=V_BW):
    return gain_dbi("macro3gpp", np.asarray(bearing, float), np.asarray(zenith, float),
                    azimuth, mech, elec, g, hbw, vbw)


@pytest.mark.parametrize("azimuth", [0.0, 30.0, 150.0, 270.0, 359.0])
@pytest.mark.parametrize("elec", [0.0, 6.0])
def test_max_gain_at_boresight(azimuth, elec):
    assert float(sector(azimuth, 90.0 + elec, azimuth, elec=elec)) == pytest.approx(G_MAX,
                                                                                   abs=1e-9)
    # Nowhere above G_max.
    b, z = np.meshgrid(np.arange(0.0, 360.0, 2.5), np.arange(0.0, 180.1, 2.5))
    assert sector(b, z, azimuth, elec=elec).max() <= G_MAX + 1e-9


@pytest.mark.parametrize(("hbw", "vbw"), [(65.0, 65.0), (65.0, 10.0), (90.0, 7.0)])
def test_minus_3_db_at_half_beamwidth(hbw, vbw):
    az = 150.0
    # Horizontal cut at the horizon: 12 (phi_3dB/2 / phi_3dB)^2 = 3 dB, both sides.
    for side in (-1.0, 1.0):
        g = float(sector(az + side * hbw / 2.0, 90.0, az, hbw=hbw, vbw=vbw))
        assert g == pytest.approx(G_MAX - 3.0, abs=1e-9)
    # Vertical cut in the boresight plane, above and below the (electrically tilted) peak.
    for side in (-1.0, 1.0):
        g = float(sector(az, 90.0 + 4.0 + side * vbw / 2.0, az, elec=4.0, hbw=hbw, vbw=vbw))
        assert g == pytest.approx(G_MAX - 3.0, abs=1e-9)
    # A full beamwidth off is -12 dB (quadratic law, not a straight line).
    assert float(sector(az + hbw, 90.0, az, hbw=hbw, vbw=vbw)) == pytest.approx(G_MAX - 12.0)


def test_front_to_back_floor_is_30_db():
    az = 270.0
    back = sector(az + 180.0, 90.0, az)
    assert float(back) == pytest.approx(G_MAX - 30.0, abs=1e-9)
    # The floor holds for every direction: far off in both planes never goes below it.
    b, z = np.meshgrid(np.arange(0.0, 360.0, 1.0), np.arange(0.0, 180.1, 1.0))
    g = sector(b, z, az, elec=8.0)
    assert g.min() == pytest.approx(G_MAX - 30.0, abs=1e-9)
    # Horizontal 70 deg (A_H = 13.9 dB) plus vertical 2 beamwidths (A_V = 48 -> 30): sum
    # capped at 30 as well.
    assert float(sector(az + 70.0, 90.0 + 20.0, az)) == pytest.approx(G_MAX - 30.0)
    # Below the cap the two cuts add: 12 (20/65)^2 + 12 (5/10)^2 = 1.136 + 3 dB.
    expected = G_MAX - (12.0 * (20.0 / 65.0) ** 2 + 12.0 * (5.0 / 10.0) ** 2)
    assert float(sector(az + 20.0, 95.0, az)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("tilt", [0.0, 3.0, 6.0, 10.0, -4.0])
def test_electrical_tilt_moves_vertical_peak(tilt):
    z = np.linspace(60.0, 130.0, 70_001)  # 0.001 deg steps
    g = sector(np.full_like(z, 30.0), z, 30.0, elec=tilt)
    assert z[np.argmax(g)] == pytest.approx(90.0 + tilt, abs=2e-3)
    # Electrical tilt steers the beam inside the panel's frame, so it is the same tilt in
    # every horizontal direction (also 60 deg off boresight).
    g_off = sector(np.full_like(z, 90.0), z, 30.0, elec=tilt)
    assert z[np.argmax(g_off)] == pytest.approx(90.0 + tilt, abs=2e-3)


@pytest.mark.parametrize("mech", [5.0, 10.0, 15.0])
def test_mechanical_tilt_rotates_the_panel(mech):
    az = 30.0
    z = np.linspace(60.0, 130.0, 70_001)
    # In the boresight plane the peak moves down by the mechanical tilt, at full gain.
    g = sector(np.full_like(z, az), z, az, mech=mech)
    assert z[np.argmax(g)] == pytest.approx(90.0 + mech, abs=2e-3)
    assert g.max() == pytest.approx(G_MAX, abs=1e-6)
    # 90 deg off boresight the rotation about the panel's horizontal axis barely moves the
    # vertical angle (cos theta' = cos(beta) cos(theta) there): the peak of that cut stays
    # within a small fraction of the tilt of the horizon, unlike electrical tilt.
    g90 = sector(np.full_like(z, az + 90.0), z, az, mech=mech)
    shift = abs(z[np.argmax(g90)] - 90.0)
    assert shift < 0.1 * mech
    g90_elec = sector(np.full_like(z, az + 90.0), z, az, elec=mech)
    assert abs(z[np.argmax(g90_elec)] - 90.0) == pytest.approx(mech, abs=2e-3)
    # At the horizon, 90 deg off, mechanical tilt changes nothing at all.
    assert float(sector(az + 90.0, 90.0, az, mech=mech)) == pytest.approx(
        float(sector(az + 90.0, 90.0, az)), abs=1e-9)


def test_local_angles_without_tilt_are_the_global_ones():
    b = np.array([10.0, 100.0, 200.0, 350.0])
    z = np.array([80.0, 90.0, 100.0, 135.0])
    th, ph = local_angles_deg(b, z, 0.0, 0.0)
    np.testing.assert_allclose(th, z, atol=1e-9)
    np.testing.assert_allclose(np.abs(ph), np.abs((b + 180.0) % 360.0 - 180.0), atol=1e-9)


def test_sector_gain_formula_at_local_angles():
    # sector_gain_dbi at local angles: direct evaluation of the table's formula.
    th = np.array([90.0, 96.0, 100.0, 140.0])
    ph = np.array([0.0, 30.0, -50.0, 170.0])
    av = np.minimum(12.0 * ((th - 92.0) / 10.0) ** 2, 30.0)
    ah = np.minimum(12.0 * (ph / 65.0) ** 2, 30.0)
    want = 8.0 - np.minimum(av + ah, 30.0)
    np.testing.assert_allclose(sector_gain_dbi(th, ph, 2.0, 8.0, 65.0, 10.0), want, atol=1e-12)


def test_omni_is_constant():
    b, z = np.meshgrid(np.arange(0.0, 360.0, 7.0), np.arange(0.0, 180.1, 5.0))
    g = gain_dbi("omni", b, z, 123.0, 10.0, 6.0, 5.0)
    assert g.shape == b.shape
    np.testing.assert_array_equal(g, 5.0)
