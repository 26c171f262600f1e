"""Antenna patterns: TR 38.901 Table 7.3-1 sector pattern with tilt, and omni.

The sector pattern (Table 7.3-1) in the antenna's local frame:

    A_V(theta') = -min(12 ((theta' - 90 - tilt_e) / theta_3dB)^2, SLA_V),  SLA_V = 30 dB
    A_H(phi')   = -min(12 (phi' / phi_3dB)^2, A_max),                       A_max = 30 dB
    A(theta', phi') = G_max - min(-(A_V + A_H), A_max)

``theta`` is the zenith angle (90 deg = horizon) and ``phi`` the horizontal angle. Mechanical
downtilt rotates the antenna: the local angles follow TR 38.901 eq. 7.1-7/7.1-8 with bearing
alpha = azimuth and downtilt beta = mechanical tilt (gamma = 0). Electrical tilt steers the
vertical beam inside the local frame (it shifts theta'), which is what a remote electrical
tilt does. 3GPP uses 65 deg for both beamwidths of one element; commercial macro panels with
vertical arrays have 6-10 deg vertical beamwidth and 15-18 dBi, set per cell.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

SLA_V_DB = 30.0
A_MAX_DB = 30.0


def local_angles_deg(bearing_to_ue_deg: ArrayLike, zenith_deg: ArrayLike, azimuth_deg: float,
                     mech_tilt_deg: float) -> tuple[NDArray, NDArray]:
    """Zenith and horizontal angle of a direction in the antenna's local frame.

    Args:
        bearing_to_ue_deg: direction to the UE, clockwise from north.
        zenith_deg: zenith angle of that direction (90 = horizontal, > 90 below the horizon).
        azimuth_deg: antenna boresight bearing.
        mech_tilt_deg: mechanical downtilt (positive = down).

    Returns:
        ``(theta_local_deg, phi_local_deg)``, phi wrapped to (-180, 180].
    """
    # Bearings are clockwise from north; 38.901's phi is counter-clockwise from x, so the
    # horizontal offset from boresight is the negative of the bearing offset. Only |phi|
    # matters for the pattern, so the sign convention does not change the gain.
    dphi = np.radians(np.asarray(bearing_to_ue_deg, dtype=float) - azimuth_deg)
    th = np.radians(np.asarray(zenith_deg, dtype=float))
    beta = np.radians(mech_tilt_deg)
    cos_t = np.cos(beta) * np.cos(th) + np.sin(beta) * np.cos(dphi) * np.sin(th)
    theta_l = np.degrees(np.arccos(np.clip(cos_t, -1.0, 1.0)))
    phi_l = np.degrees(np.arctan2(np.sin(th) * np.sin(dphi),
                                  np.cos(beta) * np.sin(th) * np.cos(dphi)
                                  - np.sin(beta) * np.cos(th)))
    return theta_l, phi_l


def sector_gain_dbi(theta_local_deg: ArrayLike, phi_local_deg: ArrayLike, elec_tilt_deg: float,
                    max_gain_dbi: float = 8.0, h_beamwidth_deg: float = 65.0,
                    v_beamwidth_deg: float = 65.0) -> NDArray[np.float64]:
    """Gain of the TR 38.901 Table 7.3-1 pattern at local angles (dBi)."""
    theta = np.asarray(theta_local_deg, dtype=float)
    phi = np.asarray(phi_local_deg, dtype=float)
    a_v = -np.minimum(12.0 * ((theta - 90.0 - elec_tilt_deg) / v_beamwidth_deg) ** 2, SLA_V_DB)
    a_h = -np.minimum(12.0 * (phi / h_beamwidth_deg) ** 2, A_MAX_DB)
    return max_gain_dbi - np.minimum(-(a_v + a_h), A_MAX_DB)


def gain_dbi(antenna: str, bearing_to_ue_deg: ArrayLike, zenith_deg: ArrayLike,
             azimuth_deg: float, mech_tilt_deg: float, elec_tilt_deg: float,
             max_gain_dbi: float, h_beamwidth_deg: float = 65.0,
             v_beamwidth_deg: float = 65.0) -> NDArray[np.float64]:
    """Antenna gain towards the UEs for one cell (``"macro3gpp"`` sector or ``"omni"``)."""
    if antenna == "omni":
        return np.full(np.shape(np.asarray(bearing_to_ue_deg)), float(max_gain_dbi))
    theta_l, phi_l = local_angles_deg(bearing_to_ue_deg, zenith_deg, azimuth_deg, mech_tilt_deg)
    return sector_gain_dbi(theta_l, phi_l, elec_tilt_deg, max_gain_dbi, h_beamwidth_deg,
                           v_beamwidth_deg)
