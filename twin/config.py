"""Parameters of the twin's radio model, with their sources (see docs/model.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from twin.errors import ValidationError


@dataclass(frozen=True)
class RadioConfig:
    """Model parameters that are not properties of a cell.

    Spectral efficiency is truncated Shannon (TR 36.942 Annex A.2, downlink values):
    ``se = 0`` below ``sinr_min_db``, ``alpha * log2(1 + SINR)`` up to the cap
    ``se_max_bps_hz`` per layer, times the cell's MIMO layers.
    """

    ue_height_m: float = 1.5
    noise_figure_db: float = 9.0           # UE noise figure, TR 36.942 Table 4.3 / 38.802
    thermal_noise_dbm_hz: float = -174.0   # kT at 290 K
    alpha: float = 0.6                     # TR 36.942 A.2 DL implementation loss factor
    sinr_min_db: float = -10.0             # TR 36.942 A.2 DL SINR_MIN
    se_max_bps_hz: float = 4.4             # TR 36.942 A.2 DL Thr_MAX (per layer)
    coverage_sinr_db: float = -6.0         # a bin is "covered" at or above this SINR
    overload_threshold: float = 0.8        # "overloaded cell" threshold on PRB utilisation
    max_link_distance_m: float = 3000.0    # links beyond this are neglected (< noise in cities)
    # Far-field interference (docs/model.md): link gains are exact within near_link_distance_m;
    # beyond it (up to max_link_distance_m) a cell's interference gain to a bin is the bilinear
    # interpolation (linear power) of its exact gains on a lattice of pitch far_field_block_m
    # (rounded to whole bins). Servers are always chosen from exact gains. Measured effect on
    # the benchmark networks (bench/results/twin_bench.md, 57-993 cells, ISD 400 m): same
    # servers, |delta prb_util| <= 2e-4; up to ~0.5 % relative for sectors serving bins far
    # beyond the layout. far_field_block_m = 0 (or a pitch under 2 bins, or shadowing) makes
    # every link exact (about 3x the time and memory on 1000 cells x 250k bins).
    near_link_distance_m: float = 1000.0
    far_field_block_m: float = 60.0
    los_model: Literal["expected", "nlos", "los"] = "expected"
    shadowing_seed: int | None = None      # None: no shadowing
    max_iterations: int = 500              # load fixed point
    tolerance: float = 1e-6                # load fixed point, max |rho_k+1 - rho_k|

    def __post_init__(self) -> None:
        checks = [
            (1.0 <= self.ue_height_m <= 22.5, "ue_height_m must be in [1, 22.5]"),
            (0 < self.alpha <= 1, "alpha must be in (0, 1]"),
            (self.se_max_bps_hz > 0, "se_max_bps_hz must be > 0"),
            (self.max_link_distance_m > 0, "max_link_distance_m must be > 0"),
            (self.near_link_distance_m > 0, "near_link_distance_m must be > 0"),
            (self.far_field_block_m >= 0, "far_field_block_m must be >= 0 (0 = no far field)"),
            (0 < self.overload_threshold <= 10, "overload_threshold must be in (0, 10]"),
            (self.max_iterations >= 1, "max_iterations must be >= 1"),
            (self.tolerance > 0, "tolerance must be > 0"),
            (self.los_model in ("expected", "nlos", "los"),
             "los_model must be 'expected', 'nlos' or 'los'"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValidationError("config", msg)
