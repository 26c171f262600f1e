"""Planner cases of issue 14 (``bench/planner_bench.py --cases``): generated networks where the
right answer is known in kind.

* ``smallcell``: the 7-site layout of ``tests/planner/conftest.py`` with *no* candidate list
  and a crowd close to the S01 mast on the boresight of S01-1 (60-100 m out, 30 m wide): a
  downtilt cannot move a crowd that sits in the main lobe near the mast, so the answer is a
  small cell at a generated location. (The crowd is a Gaussian demand hotspot, not a
  geolocated traffic map: those are another issue's work.)
* ``tilt``: the same layout and a crowd at the cell edge of S01-1 (230-270 m out, 60 m wide),
  listed candidates only far away: the answer is a tilt / CIO change.

Each case over several seeds (crowd position and size), default policy, target 0.5, budget
100 kEUR. Reported per run: verified peak, cost, policy verdict, kinds chosen, whether a
small cell was chosen, the LP lower bound, wall time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from actions.costs import load_costs
from planner.executors import Executor
from planner.loop import PlannerSettings, plan_network
from policies import load_policy
from twin.config import RadioConfig
from twin.demand import Demand
from twin.engine import Twin
from twin.grid import Grid
from twin.network import Network
from twin.scenarios.layout import hex_sites, three_sector_network_tables

MACRO = {
    "tx_power_dbm": 46.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 100, "scs_khz": 15.0,
    "mimo_layers": 2, "height_m": 25.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 6.0,
    "antenna": "macro3gpp", "antenna_gain_dbi": 17.0, "h_beamwidth_deg": 65.0,
    "v_beamwidth_deg": 10.0, "cio_db": 0.0, "scenario": "uma",
}
BORESIGHT_DEG = 30.0  # S01-1


def case_twin(kind: str, seed: int) -> Twin:
    rng = np.random.default_rng(seed)
    sites, cells = three_sector_network_tables(hex_sites(1, 400.0), MACRO)
    if kind == "smallcell":
        dist, width, hot = rng.uniform(60, 100), 30.0, rng.uniform(50, 80)
        cand = pd.DataFrame(columns=["candidate_id", "x_m", "y_m", "height_m"])
    else:
        dist, width, hot = rng.uniform(230, 270), 60.0, rng.uniform(35, 55)
        cand = pd.DataFrame([("K4", -380.0, -300.0, 6.0)],
                            columns=["candidate_id", "x_m", "y_m", "height_m"])
    az = np.radians(BORESIGHT_DEG + rng.uniform(-10, 10))
    cx, cy = dist * np.sin(az), dist * np.cos(az)
    net = Network.from_tables(sites, cells, cand, name=f"{kind}-{seed}")
    grid = Grid.covering(-640.0, -640.0, 640.0, 640.0, 20.0)
    x, y = grid.xy()
    shape = np.exp(-0.5 * ((x - cx) ** 2 + (y - cy) ** 2) / width**2)
    spatial = 80.0 * grid.bin_area_km2 + hot * shape / shape.sum()
    hourly = 0.4 + 0.6 * np.sin(np.linspace(0.0, np.pi, 24))
    return Twin(net, Demand.from_profile(grid, spatial, hourly), RadioConfig())


def run_case(kind: str, seed: int, ex: Executor, target: float = 0.5) -> dict[str, Any]:
    tw = case_twin(kind, seed)
    t0 = time.perf_counter()
    plan = plan_network(tw, load_costs(None), PlannerSettings(target=target, lp_dir=None), ex,
                        load_policy(None), scenario=tw.network.name)
    j = plan.to_json()
    kinds: dict[str, int] = {}
    for a in j["actions"]:
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    return {"case": kind, "seed": seed, "peak_before": j["peak_before"],
            "peak_after": j["peak_after"], "target": target, "target_met": j["target_met"],
            "cost_eur": j["total_cost"], "policy_passed": j["policy"].get("passed"),
            "denied_by": sorted({v.get("id") for v in j["policy"].get("violations", [])}),
            "kinds": kinds, "small_cell": "add_small_cell" in kinds,
            "generated_sites": len(j["candidates"].get("generated") or []),
            "lower_bound": j["lower_bound"].get("peak_prb_util"),
            "dropped": len(j["dropped"]), "frontier_points": len(j["frontier"]),
            "what_ifs": j["what_ifs"], "wall_s": time.perf_counter() - t0}


def run_cases(ex: Executor, seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict[str, Any]]:
    return [run_case(k, s, ex) for k in ("smallcell", "tilt") for s in seeds]


def cases_markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| case | seed | peak before | verified peak | lower bound | cost (EUR) | policy | "
           "kinds chosen | small cell | wall (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pol = {True: "passed", False: "DENIED " + ",".join(r["denied_by"]),
               None: "-"}[r["policy_passed"]]
        kinds = ", ".join(f"{k} x{n}" for k, n in r["kinds"].items()) or "none"
        lb = "-" if r["lower_bound"] is None else f"{r['lower_bound']:.3f}"
        out.append(f"| {r['case']} | {r['seed']} | {r['peak_before']:.3f} | "
                   f"{r['peak_after']:.3f} | {lb} | {r['cost_eur']:,.0f} | {pol} | {kinds} | "
                   f"{'yes' if r['small_cell'] else 'no'} | {r['wall_s']:.0f} |")
    return "\n".join(out) + "\n"
