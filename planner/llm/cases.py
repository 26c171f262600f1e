"""Generated training networks for the LLM: what each seed draws and how it is built.

A seed draws a :class:`CaseSpec` (layout, crowd, target, budget, policy restrictions) and
:func:`build_case` turns it into a :class:`twin.scenarios.Scenario` whose demand is the drawn
ground truth (no calibration: the twin itself is the teacher, so its own demand is the truth).

* layouts: hexagonal grids of 1 or 2 rings (7 or 19 three-sector sites) at an inter-site
  distance of 300-600 m, either regular or jittered (sites moved by up to a fifth of the ISD,
  sector azimuths turned by up to 20 deg, so that no two sites look alike, as in an imported
  network);
* crowds: on a sector's boresight, at a cell edge (between two sectors), two hotspots, or under
  a mast (where the serving cell's own knobs help least);
* the busiest cell's busy-hour utilisation is brought to a drawn value above the target by
  bisection of the crowd's traffic;
* targets 0.4-0.8, budgets 5k-200k, and a policy that may forbid some action kinds and
  protect some cells.

Seeds at or above :data:`EVAL_SEED_START` are reserved for evaluation and refused for training.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from actions.models import ACTION_KINDS
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import ValidationError
from twin.grid import Grid
from twin.network import Network
from twin.scenarios import Scenario
from twin.scenarios.diurnal import hourly_profile, mean_profile
from twin.scenarios.layout import SECTOR_AZIMUTHS_DEG, hex_sites, three_sector_network_tables

DATASET_SALT = 17_2026  # keeps these draws independent of every other seeded generator
EVAL_SEED_START = 1_000_000
CROWDS = ("boresight", "edge", "two", "mast")
LAYOUTS = ("hex", "jitter")
#: kinds a policy of a case may forbid (one or two of them)
FORBIDDABLE = ("set_tilt", "set_cio", "add_small_cell", "split_sector", "set_azimuth",
               "upgrade_mimo")
BUDGETS_EUR = (5_000.0, 20_000.0, 60_000.0, 200_000.0)
MACRO = {
    "tx_power_dbm": 46.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 100, "scs_khz": 15.0,
    "mimo_layers": 2, "height_m": 25.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 6.0,
    "antenna": "macro3gpp", "antenna_gain_dbi": 17.0, "h_beamwidth_deg": 65.0,
    "v_beamwidth_deg": 10.0, "cio_db": 0.0, "scenario": "uma",
}
BACKGROUND_MBPS_KM2 = 200.0
_CAND_NAMES = ("lamp post", "rooftop", "bus shelter", "shop canopy", "office rooftop",
               "street cabinet")
BISECTION_STEPS = 14


@dataclass(frozen=True)
class CaseSpec:
    """What one seed draws (lengths in metres, azimuths in degrees)."""

    seed: int
    layout: str
    rings: int
    isd_m: float
    crowd: str
    peak: float
    target: float
    budget_eur: float
    forbid: tuple[str, ...]
    protect: tuple[str, ...]
    hotspots: tuple[tuple[float, float, float, float], ...]  # x, y, sigma, share

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def name(self) -> str:
        return f"train-{self.seed}"


def check_training_seed(seed: int) -> None:
    if seed < 0 or seed >= EVAL_SEED_START:
        raise ValidationError("dataset", f"training seeds are 0..{EVAL_SEED_START - 1}; seed "
                              f"{seed} is reserved for evaluation")


def _positions(rng: np.random.Generator, layout: str, rings: int, isd: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pos = hex_sites(rings, isd)
    turn = np.zeros(len(pos))
    if layout == "jitter":
        pos = pos + rng.uniform(-0.2 * isd, 0.2 * isd, pos.shape)
        pos[0] = 0.0  # the centre stays the centre: crowds are drawn around the inner sites
        turn = rng.uniform(-20.0, 20.0, len(pos))
    return pos, np.round(turn)


def _boresight_spot(rng: np.random.Generator, site: NDArray[np.float64], az: float,
                    lo: float, hi: float, spread: float) -> tuple[float, float]:
    a = np.radians(az + rng.uniform(-spread, spread))
    d = rng.uniform(lo, hi)
    return float(site[0] + d * np.sin(a)), float(site[1] + d * np.cos(a))


def draw_case(seed: int) -> CaseSpec:
    """The case of ``seed`` (any non-negative integer; deterministic)."""
    rng = np.random.default_rng([DATASET_SALT, int(seed)])
    layout = LAYOUTS[int(rng.integers(len(LAYOUTS)))]
    rings = int(rng.choice([1, 2], p=[0.4, 0.6]))
    isd = float(rng.choice([300.0, 400.0, 500.0, 600.0]))
    crowd = CROWDS[int(rng.integers(len(CROWDS)))]
    pos, turn = _positions(rng, layout, rings, isd)
    inner = min(len(pos), 7)
    spots: list[tuple[float, float, float, float]] = []
    for k in range(2 if crowd == "two" else 1):
        s = int(rng.integers(inner))
        sector = int(rng.integers(3))
        az = SECTOR_AZIMUTHS_DEG[sector] + turn[s]
        if crowd == "edge":  # halfway between two sectors' boresights
            x, y = _boresight_spot(rng, pos[s], az + 60.0, 0.3 * isd, 0.5 * isd, 8.0)
        elif crowd == "mast":
            x, y = _boresight_spot(rng, pos[s], az, 15.0, 60.0, 40.0)
        else:
            x, y = _boresight_spot(rng, pos[s], az, 0.25 * isd, 0.5 * isd, 15.0)
        spots.append((round(x, 1), round(y, 1), float(rng.uniform(35.0, 80.0)),
                      1.0 if k == 0 else float(rng.uniform(0.5, 1.0))))
    target = float(np.round(rng.uniform(0.4, 0.8), 2))
    peak = float(np.round(rng.uniform(min(target + 0.12, 0.95), 0.97), 3))
    budget = float(rng.choice(BUDGETS_EUR))
    forbid: tuple[str, ...] = ()
    if rng.uniform() < 0.35:
        n = 1 if rng.uniform() < 0.7 else 2
        forbid = tuple(sorted(rng.choice(FORBIDDABLE, size=n, replace=False).tolist()))
    protect: tuple[str, ...] = ()
    if rng.uniform() < 0.2:  # a neighbour of the crowd's site that may not be touched
        s = int(rng.integers(1, min(len(pos), 7)))
        protect = (f"S{s + 1:02d}-{int(rng.integers(1, 4))}",)
    return CaseSpec(seed=int(seed), layout=layout, rings=rings, isd_m=isd, crowd=crowd,
                    peak=peak, target=target, budget_eur=budget, forbid=forbid,
                    protect=protect, hotspots=tuple(spots))


def _site_turns(spec: CaseSpec) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng([DATASET_SALT, spec.seed])
    # the same draws as draw_case, in the same order
    rng.integers(len(LAYOUTS))
    rng.choice([1, 2], p=[0.4, 0.6])
    rng.choice([300.0, 400.0, 500.0, 600.0])
    rng.integers(len(CROWDS))
    return _positions(rng, spec.layout, spec.rings, spec.isd_m)


def case_network(spec: CaseSpec) -> Network:
    pos, turn = _site_turns(spec)
    sites, cells = three_sector_network_tables(pos, MACRO)
    cells["azimuth_deg"] = (cells["azimuth_deg"] + np.repeat(turn, 3)) % 360.0
    rng = np.random.default_rng([DATASET_SALT, spec.seed, 1])
    rows = []
    for hx, hy, sigma, _share in spec.hotspots:
        for _ in range(4):
            a, d = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 1.5 * sigma)
            rows.append((hx + d * np.sin(a), hy + d * np.cos(a)))
    r = spec.rings * spec.isd_m
    for _ in range(3):  # a few far ones, as every real candidate list has
        rows.append((float(rng.uniform(-r, r)), float(rng.uniform(-r, r))))
    cand = pd.DataFrame({
        "candidate_id": [f"C{k + 1:02d}" for k in range(len(rows))],
        "x_m": [round(x, 1) for x, _ in rows], "y_m": [round(y, 1) for _, y in rows],
        "height_m": [float(rng.choice([6.0, 8.0, 10.0])) for _ in rows],
        "name": [str(rng.choice(_CAND_NAMES)) for _ in rows]})
    return Network.from_tables(sites, cells, cand, name=spec.name)


def _grid(net: Network, isd: float) -> Grid:
    s = net.sites
    margin = 0.75 * isd
    spacing = 20.0 if isd <= 400.0 else 25.0
    return Grid.covering(s["x_m"].min() - margin, s["y_m"].min() - margin,
                         s["x_m"].max() + margin, s["y_m"].max() + margin, spacing)


def _demand(spec: CaseSpec, grid: Grid, crowd_mbps: float, background_scale: float = 1.0
            ) -> Demand:
    x, y = grid.xy()
    rng = np.random.default_rng([DATASET_SALT, spec.seed, 2])
    radius = spec.rings * spec.isd_m + 0.3 * spec.isd_m
    taper = np.exp(-0.5 * (np.maximum(np.hypot(x, y) - radius, 0.0) / 150.0) ** 2)
    field = np.exp(0.15 * rng.standard_normal(x.size))
    # the same load per cell whatever the ISD (a cell's area grows with its square)
    density = BACKGROUND_MBPS_KM2 * (400.0 / spec.isd_m) ** 2 * background_scale
    background = density * grid.bin_area_km2 * taper * field
    hot = np.zeros_like(x)
    for hx, hy, sigma, share in spec.hotspots:
        shape = np.exp(-0.5 * ((x - hx) ** 2 + (y - hy) ** 2) / sigma**2)
        hot += share * shape / shape.sum()
    hot *= crowd_mbps / max(sum(h[3] for h in spec.hotspots), 1e-9)
    return Demand(grid, mean_profile()[:, None] * background[None, :]
                  + hourly_profile()[:, None] * hot[None, :])


def build_case(spec: CaseSpec) -> Scenario:
    """The scenario of ``spec``: the crowd's traffic set (bisection) so that the busiest cell's
    busy-hour utilisation is ``spec.peak``."""
    net = case_network(spec)
    grid = _grid(net, spec.isd_m)
    tw = Twin(net, _demand(spec, grid, 0.0))
    cache = tw.cache
    # the background alone stays well below the crowd's peak: the crowd makes the problem
    bg = min(1.0, 0.55 * spec.peak / max(tw.run().kpis["peak_prb_util"], 1e-9))
    lo, hi = 0.0, 600.0
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        st = Twin(net, _demand(spec, grid, mid, bg), cache=cache).run()
        lo, hi = (mid, hi) if st.kpis["peak_prb_util"] < spec.peak else (lo, mid)
    demand = _demand(spec, grid, 0.5 * (lo + hi), bg)
    return Scenario(name=spec.name, description=f"generated training case {spec.seed}",
                    network=net, demand=demand,
                    notes=(f"llm training case seed {spec.seed}: {spec.layout} layout, "
                           f"{spec.crowd} crowd",))


def case_policy_dir(spec: CaseSpec, root: Path) -> Path | None:
    """A policy folder for ``spec``: the shipped defaults plus its restrictions (None when it
    has none: the shipped defaults apply)."""
    if not spec.forbid and not spec.protect:
        return None
    out = root / f"policy-{spec.seed}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    src = resources.files("policies") / "default"
    for item in src.iterdir():
        if item.name.endswith(".yaml") and not item.name.endswith("_cases.yaml"):
            (out / item.name).write_text(item.read_text())
    lines = ["description: Restrictions of a generated training case.", "rules:"]
    if spec.forbid:
        allowed = ", ".join(k for k in ACTION_KINDS if k not in spec.forbid)
        lines += ["  - id: case-allowed-kinds", "    kind: allowed_actions",
                  "    severity: deny", f"    action_kinds: [{allowed}]",
                  f"    message: {', '.join(spec.forbid)} not allowed in this case."]
    if spec.protect:
        lines += ["  - id: case-protected", "    kind: protected_cells", "    severity: deny",
                  f"    cell_ids: [{', '.join(spec.protect)}]",
                  "    message: protected in this case."]
    (out / "case.yaml").write_text("\n".join(lines) + "\n")
    return out
