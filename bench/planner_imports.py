"""Planner on a real import (``bench/planner_bench.py``, issue 14): the OpenCelliD Munich
export (1,511 cells, ``../shared/data/munich``), as ``celltwin import`` reads it, with the
default prior demand (no counters), no candidate list (the planner generates small-cell
locations at the traffic peaks) and the shipped default policy.

Reported: verified peak, cost, policy verdict, kinds chosen, wall time and its stages,
what-ifs. ``local=True`` runs the sensitivities as local what-ifs
(``PlannerSettings.local_whatifs``; the MILP's throughput/coverage rows are then left to the
gate, ``quality_rows=False``, because only what-ifs without quality outputs run locally);
verification, pruning and the frontier always run the full twin.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from actions.costs import load_costs
from planner.executors import Executor
from planner.loop import PlannerSettings, plan_network
from policies import load_policy
from twin.engine import Twin
from twin.importers import read_opencellid
from twin.prior import scenario_from_network

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IMPORTS: dict[str, str] = {"munich": "munich/opencellid_munich_262-01.csv"}


#: A smaller case cut from an import: rows within (d_lon, d_lat) degrees of a centre.
SUBSETS: dict[str, tuple[str, float, float, float, float]] = {
    # ~1.5 km around Marienplatz, as tests/twin/test_importers.py's CLI case
    "munich-centre": ("munich", 11.5755, 48.1374, 0.02, 0.013),
}


def import_twin(name: str) -> Twin:
    """The twin of an import (or of a :data:`SUBSETS` cut of one) with the default prior
    demand."""
    if name in SUBSETS:
        src, lon, lat, dlon, dlat = SUBSETS[name]
        raw = pd.read_csv(DATA / IMPORTS[src])
        near = ((raw["lon"] - lon).abs() < dlon) & ((raw["lat"] - lat).abs() < dlat)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.csv"
            raw[near].to_csv(path, index=False)
            net = read_opencellid(path).network
    else:
        net = read_opencellid(DATA / IMPORTS[name]).network
    return scenario_from_network(net).twin()


def run_import(name: str, ex: Executor, target: float = 0.5, local: bool = False,
               log: Any = None, max_iterations: int = 5,
               quality_rows: bool | None = None) -> dict[str, Any]:
    """Plan the import ``name`` at ``target`` (budget 100 kEUR, default policy);
    ``quality_rows`` None: only without local what-ifs (see the module)."""
    t0 = time.perf_counter()
    tw = import_twin(name)
    t_build = time.perf_counter() - t0
    s = PlannerSettings(target=target, lp_dir=None, local_whatifs=local,
                        quality_rows=(not local) if quality_rows is None else quality_rows,
                        max_iterations=max_iterations)
    t0 = time.perf_counter()
    progress = None if log is None else (lambda p: log(p.message))
    plan = plan_network(tw, load_costs(None), s, ex, load_policy(None), scenario=name,
                        progress=progress)
    wall = time.perf_counter() - t0
    j = plan.to_json()
    kinds: dict[str, int] = {}
    for a in j["actions"]:
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    label = name + (" (local what-ifs)" if local else "") + (
        f", {max_iterations} round(s) at most" if max_iterations != 5 else "") + (
        ", no throughput/coverage rows" if not s.quality_rows and not local else "")
    return {"case": label, "n_cells": len(tw.network.cells), "max_iterations": max_iterations,
            "local_whatifs": local, "peak_before": j["peak_before"],
            "peak_after": j["peak_after"], "target": target, "target_met": j["target_met"],
            "cost_eur": j["total_cost"], "policy_passed": j["policy"].get("passed"),
            "denied_by": sorted({str(v.get("id")) for v in j["policy"].get("violations", [])}),
            "kinds": kinds, "small_cell": "add_small_cell" in kinds,
            "generated_sites": len(j["candidates"].get("generated") or []),
            "lower_bound": j["lower_bound"].get("peak_prb_util"),
            "iterations": j["iterations"], "what_ifs": j["what_ifs"],
            "frontier": j["frontier"], "timings_s": j["timings_s"], "build_s": t_build,
            "wall_s": wall, "actions": [a["description"] for a in j["actions"]]}


def imports_markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| case | cells | peak before | verified peak | target | lower bound | cost (EUR) | "
           "policy | kinds chosen | generated sites | what-ifs | sensitivities (s) | wall (s) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pol = {True: "passed", False: "DENIED " + ",".join(r["denied_by"]),
               None: "-"}[r["policy_passed"]]
        kinds = ", ".join(f"{k} x{n}" for k, n in r["kinds"].items()) or "none"
        lb = "-" if r["lower_bound"] is None else f"{r['lower_bound']:.3f}"
        out.append(f"| {r['case']} | {r['n_cells']} | {r['peak_before']:.3f} | "
                   f"{r['peak_after']:.3f} | {r['target']} | {lb} | {r['cost_eur']:,.0f} | {pol} "
                   f"| {kinds} | {r['generated_sites']} | {r['what_ifs']} | "
                   f"{r['timings_s'].get('sensitivities', 0.0):.0f} | {r['wall_s']:.0f} |")
    return "\n".join(out) + "\n"
