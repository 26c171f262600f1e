"""Large-scale propagation: 3GPP TR 38.901 V17 path loss, LOS probability and shadowing.

Sources:
    * Path loss: TR 38.901 Table 7.4.1-1 (RMa, UMa, UMi-Street Canyon), LOS and NLOS.
    * LOS probability: TR 38.901 Table 7.4.2-1.
    * Shadow fading standard deviations: the ``sigma_SF`` column of Table 7.4.1-1.

Conventions: distances in metres, heights in metres, carrier frequency ``fc_ghz`` in GHz (the
breakpoint distance uses it in Hz, as the table's note 1 says). The table is defined for
``d2d_m >= 10``; shorter distances are evaluated at 10 m, and distances beyond the table's
upper limit (5 km or 10 km) continue the same formula. The effective environment height of UMa
and UMi is fixed at 1 m (the table's value for UMi, and the dominant case for UMa at
street level); RMa uses the table's defaults of 5 m building height and 20 m street width.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin.errors import ValidationError

C_M_PER_S = 299_792_458.0
SCENARIOS = ("uma", "umi", "rma")
MIN_D2D_M = 10.0
RMA_BUILDING_HEIGHT_M = 5.0
RMA_STREET_WIDTH_M = 20.0
H_E_M = 1.0

#: Shadow-fading standard deviation in dB per scenario, (LOS, NLOS), Table 7.4.1-1.
#: RMa LOS uses the value of PL1 (4 dB) before the breakpoint and 6 dB after it.
SHADOWING_SIGMA_DB = {"uma": (4.0, 6.0), "umi": (4.0, 7.82), "rma": (4.0, 8.0)}


def _check_scenario(scenario: str) -> str:
    s = str(scenario).lower()
    if s not in SCENARIOS:
        raise ValidationError("propagation", f"unknown scenario {scenario!r}; use one of "
                              f"{list(SCENARIOS)}")
    return s


def _pl_uma_los(d2d, d3d, h_bs, h_ut, fc):
    d_bp = 4.0 * (h_bs - H_E_M) * (h_ut - H_E_M) * fc * 1e9 / C_M_PER_S
    pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (28.0 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
           - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    return np.where(d2d <= d_bp, pl1, pl2)


def _pl_uma_nlos(d2d, d3d, h_bs, h_ut, fc):
    pl_nlos = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
    return np.maximum(_pl_uma_los(d2d, d3d, h_bs, h_ut, fc), pl_nlos)


def _pl_umi_los(d2d, d3d, h_bs, h_ut, fc):
    d_bp = 4.0 * (h_bs - H_E_M) * (h_ut - H_E_M) * fc * 1e9 / C_M_PER_S
    pl1 = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(fc)
    pl2 = (32.4 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
           - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2))
    return np.where(d2d <= d_bp, pl1, pl2)


def _pl_umi_nlos(d2d, d3d, h_bs, h_ut, fc):
    pl_nlos = 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)
    return np.maximum(_pl_umi_los(d2d, d3d, h_bs, h_ut, fc), pl_nlos)


def _rma_pl1(d, fc):
    h = RMA_BUILDING_HEIGHT_M
    return (20.0 * np.log10(40.0 * np.pi * d * fc / 3.0)
            + min(0.03 * h**1.72, 10.0) * np.log10(d)
            - min(0.044 * h**1.72, 14.77)
            + 0.002 * np.log10(h) * d)


def _pl_rma_los(d2d, d3d, h_bs, h_ut, fc):
    d_bp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / C_M_PER_S
    pl1 = _rma_pl1(d3d, fc)
    # The table's PL2 = PL1(d_BP) + 40 log10(d3D / d_BP), with the 2D breakpoint distance.
    pl2 = _rma_pl1(d_bp, fc) + 40.0 * np.log10(d3d / d_bp)
    return np.where(d2d <= d_bp, pl1, pl2)


def _pl_rma_nlos(d2d, d3d, h_bs, h_ut, fc):
    h, w = RMA_BUILDING_HEIGHT_M, RMA_STREET_WIDTH_M
    pl_nlos = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h)
               - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
               + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0)
               + 20.0 * np.log10(fc)
               - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))
    return np.maximum(_pl_rma_los(d2d, d3d, h_bs, h_ut, fc), pl_nlos)


_FORMULAS = {
    ("uma", True): _pl_uma_los, ("uma", False): _pl_uma_nlos,
    ("umi", True): _pl_umi_los, ("umi", False): _pl_umi_nlos,
    ("rma", True): _pl_rma_los, ("rma", False): _pl_rma_nlos,
}


def path_loss_db(scenario: str, d2d_m: ArrayLike, h_bs_m: ArrayLike, h_ut_m: ArrayLike,
                 fc_ghz: ArrayLike, los: ArrayLike) -> NDArray[np.float64]:
    """Basic path loss of TR 38.901 Table 7.4.1-1 in dB, without shadowing.

    Args:
        scenario: "uma", "umi" (street canyon) or "rma".
        d2d_m: horizontal BS-UT distance in m (clamped below at 10 m).
        h_bs_m: BS antenna height in m.
        h_ut_m: UT antenna height in m.
        fc_ghz: carrier frequency in GHz.
        los: True for line of sight; NLOS is max(PL_LOS, PL'_NLOS) as the table defines it.

    All array arguments broadcast together; the result has their broadcast shape.
    """
    s = _check_scenario(scenario)
    d2d, h_bs, h_ut, fc, los_b = np.broadcast_arrays(
        np.asarray(d2d_m, dtype=float), np.asarray(h_bs_m, dtype=float),
        np.asarray(h_ut_m, dtype=float), np.asarray(fc_ghz, dtype=float),
        np.asarray(los, dtype=bool))
    if np.any(~np.isfinite(d2d)) or np.any(d2d < 0):
        raise ValidationError("propagation", "distances must be finite and >= 0")
    if np.any(h_bs <= H_E_M) or np.any(h_ut < 1.0) or np.any(fc <= 0):
        raise ValidationError("propagation", "need h_bs_m > 1, h_ut_m >= 1 and fc_ghz > 0")
    d2d = np.maximum(d2d, MIN_D2D_M)
    d3d = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    out = np.empty(d2d.shape, dtype=float)
    for flag in (True, False):
        m = los_b == flag
        if m.any():
            out[m] = _FORMULAS[(s, flag)](d2d[m], d3d[m], h_bs[m], h_ut[m], fc[m])
    return out


def los_probability(scenario: str, d2d_m: ArrayLike, h_ut_m: ArrayLike = 1.5
                    ) -> NDArray[np.float64]:
    """Probability of line of sight, TR 38.901 Table 7.4.2-1 (outdoor distance ``d2d_m``)."""
    s = _check_scenario(scenario)
    d, h_ut = np.broadcast_arrays(np.asarray(d2d_m, dtype=float),
                                  np.asarray(h_ut_m, dtype=float))
    d_safe = np.maximum(d, 1e-9)
    if s == "rma":
        p = np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    elif s == "umi":
        p = np.where(d <= 18.0, 1.0,
                     18.0 / d_safe + np.exp(-d_safe / 36.0) * (1.0 - 18.0 / d_safe))
    else:
        c_h = np.where(h_ut <= 13.0, 0.0, ((np.clip(h_ut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5)
        base = 18.0 / d_safe + np.exp(-d_safe / 63.0) * (1.0 - 18.0 / d_safe)
        p = np.where(d <= 18.0, 1.0,
                     base * (1.0 + c_h * 1.25 * (d_safe / 100.0) ** 3 * np.exp(-d_safe / 150.0)))
    return np.asarray(p, dtype=float)


def expected_path_loss_db(scenario: str, d2d_m: ArrayLike, h_bs_m: ArrayLike,
                          h_ut_m: ArrayLike, fc_ghz: ArrayLike) -> NDArray[np.float64]:
    """Path loss averaged over the LOS state in the linear domain:
    ``-10 log10(p 10^(-PL_LOS/10) + (1-p) 10^(-PL_NLOS/10))``.

    Deterministic and smooth in the geometry, so small changes (a tilt step) give small,
    reproducible changes of load; used by the twin unless LOS states are sampled.
    """
    p = los_probability(scenario, d2d_m, h_ut_m)
    pl_los = path_loss_db(scenario, d2d_m, h_bs_m, h_ut_m, fc_ghz, True)
    pl_nlos = path_loss_db(scenario, d2d_m, h_bs_m, h_ut_m, fc_ghz, False)
    # Factor out the LOS term to keep the sum well inside float range.
    return pl_los - 10.0 * np.log10(p + (1.0 - p) * 10.0 ** (-(pl_nlos - pl_los) / 10.0))


def shadowing_db(scenario: str, los: ArrayLike, rng: np.random.Generator | int | None
                 ) -> NDArray[np.float64]:
    """Independent log-normal shadow fading samples, zero mean, sigma from Table 7.4.1-1.

    Args:
        scenario: propagation scenario.
        los: boolean array; its shape is the output's.
        rng: a numpy Generator or an integer seed (same seed, same samples).
    """
    s = _check_scenario(scenario)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    los_b = np.asarray(los, dtype=bool)
    sigma_los, sigma_nlos = SHADOWING_SIGMA_DB[s]
    sigma = np.where(los_b, sigma_los, sigma_nlos)
    return gen.standard_normal(los_b.shape) * sigma
