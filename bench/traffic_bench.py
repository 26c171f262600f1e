"""Benchmark of geolocated traffic maps (twin/traffic_map.py) on the Milan city grid.

Usage::

    .venv/bin/python bench/traffic_bench.py           # writes bench/results/traffic_bench.*
    .venv/bin/python bench/traffic_bench.py --quick   # 10k samples only

Network: the whole Milan OpenCelliD LTE import (``../shared/data/milan/
milan_opencellid_lte_cells.csv``, estimated sites) on its default grid
(:func:`twin.prior.default_grid`: at most 40 000 bins). Samples: a city-like cloud (70 % in
20 Gaussian crowds of 30-150 m, 30 % uniform over the sites' area), lat/lon, ``weight`` and an
``hour`` for half of them, written as Parquet.

Each case runs in its own subprocess and measures: reading the file
(:func:`twin.traffic_map.read_traffic`), the density and blend with the default prior
(:func:`twin.traffic_map.blend`), the peak RSS of the subprocess (``ru_maxrss``) and its
growth over the set-up (network + prior). The twin is then run at the busy hour with the prior
alone and with the mapped demand (the same network and grid: the map changes where the
traffic is, not the cost of a run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from machine_info import cpu_model, memory_gib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MILAN = ROOT.parent / "shared" / "data" / "milan" / "milan_opencellid_lte_cells.csv"
SIZES = (10_000, 100_000, 1_000_000)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(n: int, workdir: Path) -> dict[str, Any]:
    """One case, in this process (called in a subprocess by :func:`main`)."""
    import numpy as np
    import pandas as pd

    from twin.engine import Twin
    from twin.importers import load_network
    from twin.prior import default_demand, default_grid
    from twin.traffic_map import blend, read_traffic

    t0 = time.perf_counter()
    net = load_network(MILAN).network
    grid = default_grid(net)
    prior = default_demand(net, grid)
    setup_s = time.perf_counter() - t0
    rng = np.random.default_rng(n)
    xy = net.sites[["x_m", "y_m"]].to_numpy(float)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    n_crowd = int(0.7 * n)
    centres = rng.uniform(lo, hi, (20, 2))
    sig = rng.uniform(30.0, 150.0, 20)
    k = rng.integers(0, 20, n_crowd)
    pts = np.vstack([centres[k] + rng.normal(0.0, 1.0, (n_crowd, 2)) * sig[k, None],
                     rng.uniform(lo, hi, (n - n_crowd, 2))])
    lat, lon = net.origin.to_wgs84(pts[:, 0], pts[:, 1])
    hour = np.where(rng.random(n) < 0.5, rng.integers(0, 24, n), -1).astype(float)
    df = pd.DataFrame({"lat_deg": lat, "lon_deg": lon, "weight": rng.uniform(0.5, 2.0, n),
                       "hour": np.where(hour < 0, np.nan, hour)})
    path = workdir / f"samples_{n}.parquet"
    df.to_parquet(path, index=False)
    del df, pts, lat, lon, hour
    rss_setup = _rss_mib()
    t1 = time.perf_counter()
    tmap = read_traffic(path, grid, net.origin)
    read_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    mapped = blend(prior, tmap)
    blend_s = time.perf_counter() - t2
    rss_map = _rss_mib()
    h = prior.busy_hour
    t3 = time.perf_counter()
    st_prior = Twin(net, prior).run(h)
    twin_prior_s = time.perf_counter() - t3
    t4 = time.perf_counter()
    st_map = Twin(net, mapped.demand).run(h)
    twin_map_s = time.perf_counter() - t4
    return {"samples": n, "file_mib": path.stat().st_size / 2**20,
            "cells": len(net.cells), "bins": grid.n_bin, "spacing_m": grid.spacing_m,
            "setup_s": setup_s, "read_s": read_s, "blend_s": blend_s,
            "demand_s": read_s + blend_s, "peak_rss_mib": _rss_mib(),
            "rss_growth_mib": rss_map - rss_setup,
            "twin_prior_s": twin_prior_s, "twin_map_s": twin_map_s,
            "peak_prior": st_prior.kpis["peak_prb_util"],
            "peak_map": st_map.kpis["peak_prb_util"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case is not None:
        print(json.dumps(run_case(a.case, a.workdir)))
        return
    import tempfile

    rows = []
    sizes = SIZES[:1] if a.quick else SIZES
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = subprocess.run([sys.executable, __file__, "--case", str(n), "--workdir", tmp],
                                 check=True, capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    meta = {"date": dt.date.today().isoformat(), "machine": f"{cpu_model()}, "
            f"{os.cpu_count()} cores, {memory_gib():.1f} GiB", "python": platform.python_version(),
            "load_avg": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "traffic_bench.json").write_text(json.dumps({**meta, "cases": rows}, indent=1))
    lines = ["# Traffic-map benchmark (bench/traffic_bench.py)", "",
             f"{meta['date']}, {meta['machine']}, Python {meta['python']}, load average "
             f"{meta['load_avg'][0]:.1f} at the end (the machine was shared).", "",
             f"Whole Milan OpenCelliD LTE import: {rows[0]['cells']} cells, default grid of "
             f"{rows[0]['bins']} bins at {rows[0]['spacing_m']:g} m. Samples as Parquet "
             "(lat/lon, weight, an hour for half of them); one subprocess per case.", "",
             "| samples | file MiB | read s | density + blend s | demand total s | "
             "RSS growth MiB | peak RSS MiB | twin run, prior s | twin run, with map s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['samples']:,} | {r['file_mib']:.1f} | {r['read_s']:.2f} | "
                     f"{r['blend_s']:.2f} | {r['demand_s']:.2f} | {r['rss_growth_mib']:.0f} | "
                     f"{r['peak_rss_mib']:.0f} | {r['twin_prior_s']:.2f} | "
                     f"{r['twin_map_s']:.2f} |")
    lines += ["", "The twin's run costs the same with and without a map (same network and grid); "
              "the map changes where the traffic is (busy-hour peak with the prior "
              + ", ".join(f"{r['peak_prior']:.2f}" for r in rows) + "; with the map "
              + ", ".join(f"{r['peak_map']:.2f}" for r in rows)
              + ": no counters here, so the levels are the prior's)."]
    (RESULTS / "traffic_bench.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
