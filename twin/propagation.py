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

This is the one transcription of the tables: :func:`uma_path_loss_db`,
:func:`umi_path_loss_db` and :func:`rma_path_loss_db` (LOS and NLOS together),
:func:`los_probability`, :func:`los_averaged_db`. :func:`path_loss_db` and
:func:`expected_path_loss_db` check and broadcast their inputs; the twin's link gains
(twin/links.py) call :func:`model_path_loss_db` once per mast, with scalar heights and carrier.
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


def check_scenario(scenario: str) -> str:
    """The scenario's canonical name ("uma", "umi" or "rma"); ValidationError otherwise."""
    s = str(scenario).lower()
    if s not in SCENARIOS:
        raise ValidationError("propagation", f"unknown scenario {scenario!r}; use one of "
                              f"{list(SCENARIOS)}")
    return s


# --- Table 7.4.1-1, one function per scenario ----------------------------------------------
# Each takes d2D >= 10 m and d3D (arrays), h_BS, h_UT and fc (GHz; arrays or scalars, numpy
# broadcasting) and returns (PL_LOS, PL_NLOS) in dB, NLOS = max(PL_LOS, PL'_NLOS) as the table
# defines it; log10(d3D) and the LOS term are evaluated once for both.
def uma_path_loss_db(d2d: NDArray[np.float64], d3d: NDArray[np.float64], h_bs: ArrayLike,
                     h_ut: ArrayLike, fc: ArrayLike
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """UMa, TR 38.901 Table 7.4.1-1: PL1 / PL2 around the breakpoint d'BP (note 1, with
    h_E = 1 m), PL'_UMa-NLOS = 13.54 + 39.08 log10(d3D) + 20 log10(fc) - 0.6 (h_UT - 1.5)."""
    h_bs, h_ut, fc = np.asarray(h_bs), np.asarray(h_ut), np.asarray(fc)
    d_bp = 4.0 * (h_bs - H_E_M) * (h_ut - H_E_M) * fc * 1e9 / C_M_PER_S
    lg = np.log10(d3d)
    lfc = 20.0 * np.log10(fc)
    pl1 = 28.0 + 22.0 * lg + lfc
    pl2 = 28.0 + 40.0 * lg + lfc - 9.0 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    los = np.where(d2d <= d_bp, pl1, pl2)
    nlos = np.maximum(los, 13.54 + 39.08 * lg + lfc - 0.6 * (h_ut - 1.5))
    return los, nlos


def umi_path_loss_db(d2d: NDArray[np.float64], d3d: NDArray[np.float64], h_bs: ArrayLike,
                     h_ut: ArrayLike, fc: ArrayLike
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """UMi street canyon, TR 38.901 Table 7.4.1-1: PL1 / PL2 around d'BP (h_E = 1 m),
    PL'_UMi-NLOS = 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) - 0.3 (h_UT - 1.5)."""
    h_bs, h_ut, fc = np.asarray(h_bs), np.asarray(h_ut), np.asarray(fc)
    d_bp = 4.0 * (h_bs - H_E_M) * (h_ut - H_E_M) * fc * 1e9 / C_M_PER_S
    lg = np.log10(d3d)
    lfc = 20.0 * np.log10(fc)
    pl1 = 32.4 + 21.0 * lg + lfc
    pl2 = 32.4 + 40.0 * lg + lfc - 9.5 * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    los = np.where(d2d <= d_bp, pl1, pl2)
    nlos = np.maximum(los, 35.3 * lg + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5))
    return los, nlos


def _rma_pl1(d: NDArray[np.float64], fc: NDArray[np.float64]) -> NDArray[np.float64]:
    h = RMA_BUILDING_HEIGHT_M
    return (20.0 * np.log10(40.0 * np.pi * d * fc / 3.0)
            + min(0.03 * h**1.72, 10.0) * np.log10(d)
            - min(0.044 * h**1.72, 14.77)
            + 0.002 * np.log10(h) * d)


def rma_path_loss_db(d2d: NDArray[np.float64], d3d: NDArray[np.float64], h_bs: ArrayLike,
                     h_ut: ArrayLike, fc: ArrayLike
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RMa, TR 38.901 Table 7.4.1-1 with the default h = 5 m and W = 20 m: PL1 up to the
    breakpoint d_BP = 2 pi h_BS h_UT fc / c, PL2 = PL1(d_BP) + 40 log10(d3D / d_BP) beyond,
    and PL'_RMa-NLOS."""
    h_bs, h_ut, fc = np.asarray(h_bs), np.asarray(h_ut), np.asarray(fc)
    d_bp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / C_M_PER_S
    pl1 = _rma_pl1(d3d, fc)
    # The table's PL2 = PL1(d_BP) + 40 log10(d3D / d_BP), with the 2D breakpoint distance.
    pl2 = _rma_pl1(d_bp, fc) + 40.0 * np.log10(d3d / d_bp)
    los = np.where(d2d <= d_bp, pl1, pl2)
    h, w = RMA_BUILDING_HEIGHT_M, RMA_STREET_WIDTH_M
    pl_nlos = (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h)
               - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
               + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0)
               + 20.0 * np.log10(fc)
               - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))
    return los, np.maximum(los, pl_nlos)


#: Table 7.4.1-1 by scenario: (d2D, d3D, h_BS, h_UT, fc) -> (PL_LOS, PL_NLOS).
PATH_LOSS_DB = {"uma": uma_path_loss_db, "umi": umi_path_loss_db, "rma": rma_path_loss_db}


def los_nlos_path_loss_db(scenario: str, d2d_m: ArrayLike, h_bs_m: ArrayLike,
                          h_ut_m: ArrayLike, fc_ghz: ArrayLike
                          ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(PL_LOS, PL_NLOS) of TR 38.901 Table 7.4.1-1 in dB, without shadowing, for inputs
    already checked (the twin's cells are, by the network schema); ``d2d_m`` is clamped below
    at 10 m. Arguments broadcast as numpy does: a mast (scalar heights and carrier) to many
    points costs one evaluation of each term. :func:`path_loss_db` is the checked form."""
    s = check_scenario(scenario)
    d2d = np.maximum(np.asarray(d2d_m, dtype=float), MIN_D2D_M)
    d3d = np.sqrt(d2d**2 + (np.asarray(h_bs_m, dtype=float) - np.asarray(h_ut_m, dtype=float))
                  ** 2)
    return PATH_LOSS_DB[s](d2d, d3d, h_bs_m, h_ut_m, fc_ghz)


def _check_geometry(d2d: NDArray[np.float64], h_bs: NDArray[np.float64],
                    h_ut: NDArray[np.float64], fc: NDArray[np.float64]) -> None:
    if np.any(~np.isfinite(d2d)) or np.any(d2d < 0):
        raise ValidationError("propagation", "distances must be finite and >= 0")
    if np.any(h_bs <= H_E_M) or np.any(h_ut < 1.0) or np.any(fc <= 0):
        raise ValidationError("propagation", "need h_bs_m > 1, h_ut_m >= 1 and fc_ghz > 0")


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

    All array arguments broadcast together; the result has their broadcast shape. Raises
    ValidationError for an unknown scenario or a geometry outside the table.
    """
    s = check_scenario(scenario)
    d2d, h_bs, h_ut, fc, los_b = np.broadcast_arrays(
        np.asarray(d2d_m, dtype=float), np.asarray(h_bs_m, dtype=float),
        np.asarray(h_ut_m, dtype=float), np.asarray(fc_ghz, dtype=float),
        np.asarray(los, dtype=bool))
    _check_geometry(d2d, h_bs, h_ut, fc)
    pl_los, pl_nlos = los_nlos_path_loss_db(s, d2d, h_bs, h_ut, fc)
    return np.asarray(np.where(los_b, pl_los, pl_nlos), dtype=float)


def los_probability(scenario: str, d2d_m: ArrayLike, h_ut_m: ArrayLike = 1.5
                    ) -> NDArray[np.float64]:
    """Probability of line of sight, TR 38.901 Table 7.4.2-1 (outdoor distance ``d2d_m``).

    UMa's height term ``C'(h_UT)`` is 0 up to 13 m, so it is evaluated only where a UT
    height is above that; the arguments broadcast together."""
    s = check_scenario(scenario)
    d = np.asarray(d2d_m, dtype=float)
    h_ut = np.asarray(h_ut_m, dtype=float)
    d_safe = np.maximum(d, 1e-9)
    if s == "rma":
        p = np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))
    elif s == "umi":
        p = np.where(d <= 18.0, 1.0,
                     18.0 / d_safe + np.exp(-d_safe / 36.0) * (1.0 - 18.0 / d_safe))
    else:
        base = 18.0 / d_safe + np.exp(-d_safe / 63.0) * (1.0 - 18.0 / d_safe)
        if not np.all(h_ut <= 13.0):
            c_h = np.where(h_ut <= 13.0, 0.0,
                           ((np.clip(h_ut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5)
            base = base * (1.0 + c_h * 1.25 * (d_safe / 100.0) ** 3 * np.exp(-d_safe / 150.0))
        p = np.where(d <= 18.0, 1.0, base)
    shape = np.broadcast_shapes(d.shape, h_ut.shape)
    return np.asarray(p if p.shape == shape else np.broadcast_to(p, shape).copy(), dtype=float)


def los_averaged_db(p_los: ArrayLike, pl_los_db: ArrayLike, pl_nlos_db: ArrayLike
                    ) -> NDArray[np.float64]:
    """Path loss averaged over the LOS state in the linear domain:
    ``-10 log10(p 10^(-PL_LOS/10) + (1-p) 10^(-PL_NLOS/10))``."""
    p = np.asarray(p_los, dtype=float)
    pl_los = np.asarray(pl_los_db, dtype=float)
    # Factor out the LOS term to keep the sum well inside float range.
    return pl_los - 10.0 * np.log10(p + (1.0 - p) * 10.0 ** (-(pl_nlos_db - pl_los) / 10.0))


def expected_path_loss_db(scenario: str, d2d_m: ArrayLike, h_bs_m: ArrayLike,
                          h_ut_m: ArrayLike, fc_ghz: ArrayLike) -> NDArray[np.float64]:
    """Path loss averaged over the LOS state (:func:`los_averaged_db` of Tables 7.4.1-1 and
    7.4.2-1), checked and broadcast as :func:`path_loss_db`.

    Deterministic and smooth in the geometry, so small changes (a tilt step) give small,
    reproducible changes of load; used by the twin unless LOS states are sampled.
    """
    s = check_scenario(scenario)
    d2d, h_bs, h_ut, fc = np.broadcast_arrays(
        np.asarray(d2d_m, dtype=float), np.asarray(h_bs_m, dtype=float),
        np.asarray(h_ut_m, dtype=float), np.asarray(fc_ghz, dtype=float))
    _check_geometry(d2d, h_bs, h_ut, fc)
    p = los_probability(s, d2d_m, h_ut_m)
    pl_los, pl_nlos = los_nlos_path_loss_db(s, d2d, h_bs, h_ut, fc)
    return los_averaged_db(p, pl_los, pl_nlos)


def model_path_loss_db(scenario: str, d2d_m: ArrayLike, h_bs_m: ArrayLike, h_ut_m: ArrayLike,
                       fc_ghz: ArrayLike, los_model: str) -> NDArray[np.float64]:
    """The twin's path loss (dB) for ``RadioConfig.los_model``: "los", "nlos" or "expected"
    (:func:`los_averaged_db`), from :func:`los_nlos_path_loss_db` (inputs already checked;
    one evaluation per mast when its heights and carrier are scalars) and
    :func:`los_probability`."""
    pl_los, pl_nlos = los_nlos_path_loss_db(scenario, d2d_m, h_bs_m, h_ut_m, fc_ghz)
    if los_model == "los":
        return pl_los
    if los_model == "nlos":
        return pl_nlos
    return los_averaged_db(los_probability(scenario, d2d_m, h_ut_m), pl_los, pl_nlos)


def shadowing_db(scenario: str, los: ArrayLike, rng: np.random.Generator | int | None
                 ) -> NDArray[np.float64]:
    """Independent log-normal shadow fading samples, zero mean, sigma from Table 7.4.1-1.

    Args:
        scenario: propagation scenario.
        los: boolean array; its shape is the output's.
        rng: a numpy Generator or an integer seed (same seed, same samples).
    """
    s = check_scenario(scenario)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    los_b = np.asarray(los, dtype=bool)
    sigma_los, sigma_nlos = SHADOWING_SIGMA_DB[s]
    sigma = np.where(los_b, sigma_los, sigma_nlos)
    return gen.standard_normal(los_b.shape) * sigma
