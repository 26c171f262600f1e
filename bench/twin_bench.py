"""Benchmark of the twin engine: full runs and one-cell what-ifs on synthetic hex networks.

Usage::

    .venv/bin/python bench/twin_bench.py            # all cases, writes bench/results/twin_bench.*
    .venv/bin/python bench/twin_bench.py --quick    # two small cases (a smoke run)
    .venv/bin/python bench/twin_bench.py --cases 993c-250k --no-accuracy

Networks: hexagonal layouts of 3-sector macro sites (``hex_sites`` +
``three_sector_network_tables``) with the hotspot scenario's cell parameters (400 m ISD, 25 m
masts, 1.8 GHz, 20 MHz, 46 dBm, 17 dBi / 10 deg panels, TR 38.901 UMa), on a grid covering
the layout plus 300 m, with the spacing chosen to give the case's bin count. Demand is
uniform-ish: 200 Mbit/s/km^2 with a smooth log-normal variation (sigma 0.15), fading out
beyond 0.6 ISD from the nearest site (outside the layout), flat over the day.

Each case runs in its own subprocess. Per case it measures

* the full run: ``Twin(...)`` + first ``run()`` (link gains, association, operator, load fixed
  point, result tables), with the engine's own split of the stages (``Twin.timings``);
* fixed-point iterations;
* peak memory: ``ru_maxrss`` of the case's subprocess (``resource.getrusage(RUSAGE_SELF)``,
  read in the subprocess right after the full run, so it is the high-water mark of building
  the scenario and the full run; ``setup_rss_mib`` is the mark before the twin was built);
* a one-cell what-if (electrical tilt of the central site's first sector 6 -> 8 deg):
  ``Twin.what_if(net2).run(warm_start=previous prb_util)``, its time and the ratio full/what-if,
  and how far it is from a full run of the changed network (max |delta prb_util|, bins whose
  server differs). The base twin's load Jacobian, which every what-if of that base reuses, is
  built before (``Twin.prepare_what_ifs``) and timed on its own (``jacobian_s``); the same
  what-if with the Anderson solver (``precondition=False``) is timed after it;
* accuracy of the far-field approximation (unless ``--no-accuracy``): the same network with
  every link exact (``far_field_block_m=0``), in another subprocess; max |delta prb_util|,
  max |delta SINR| over served bins and bins whose server differs.

``--engine-root PATH`` imports ``twin`` from another checkout (e.g. the engine before this
work) to measure it with the same cases; engines without ``Twin.timings`` are split into
stages from outside.
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

#: name -> (hex rings, target number of bins)
CASES: dict[str, tuple[int, int]] = {
    "57c-10k": (2, 10_000),
    "57c-62k": (2, 62_500),
    "57c-250k": (2, 250_000),
    "183c-62k": (4, 62_500),
    "183c-250k": (4, 250_000),
    "993c-62k": (10, 62_500),
    "993c-250k": (10, 250_000),
}
QUICK = ("57c-10k", "183c-62k")
ISD_M = 400.0
MARGIN_M = 300.0
BACKGROUND_MBPS_KM2 = 200.0


# --- the case (runs in the subprocess) -------------------------------------------------------
def build_case(name: str) -> tuple[Any, Any]:
    import numpy as np
    from scipy.ndimage import gaussian_filter
    from scipy.spatial import cKDTree

    from twin.demand import Demand
    from twin.grid import Grid
    from twin.network import Network
    from twin.scenarios.hotspot import MACRO
    from twin.scenarios.layout import hex_sites, three_sector_network_tables

    rings, target = CASES[name]
    pos = hex_sites(rings, ISD_M)
    sites, cells = three_sector_network_tables(pos, MACRO)
    net = Network.from_tables(sites, cells, name=name)
    x0, x1 = pos[:, 0].min() - MARGIN_M, pos[:, 0].max() + MARGIN_M
    y0, y1 = pos[:, 1].min() - MARGIN_M, pos[:, 1].max() + MARGIN_M
    spacing = float(np.sqrt((x1 - x0) * (y1 - y0) / target))
    grid = Grid.covering(x0, y0, x1, y1, spacing)
    rng = np.random.default_rng(2026)
    field = gaussian_filter(rng.standard_normal((grid.ny, grid.nx)), sigma=150.0 / spacing)
    field = np.exp(0.15 * field.ravel() / field.std())
    x, y = grid.xy()
    # Traffic where the network is: full within 0.6 ISD of a site, fading beyond (the margin
    # beyond the outer sites belongs to neighbouring, unmodelled networks).
    d_site, _ = cKDTree(pos).query(np.column_stack([x, y]))
    taper = np.exp(-0.5 * (np.maximum(d_site - 0.6 * ISD_M, 0.0) / 100.0) ** 2)
    spatial = BACKGROUND_MBPS_KM2 * grid.bin_area_km2 * field / field.mean() * taper
    return net, Demand.from_profile(grid, spatial, np.ones(24))


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(name: str, exact: bool) -> dict[str, Any]:
    import numpy as np

    from twin.config import RadioConfig
    from twin.engine import Twin

    net, demand = build_case(name)
    cfg = RadioConfig(far_field_block_m=0.0) if exact else RadioConfig()
    setup_rss = maxrss_mib()
    out: dict[str, Any] = {"case": name, "n_cells": len(net.cells), "n_bins": demand.grid.n_bin,
                           "spacing_m": round(demand.grid.spacing_m, 2),
                           "load_avg_1min": os.getloadavg()[0], "setup_rss_mib": setup_rss}
    t0 = time.perf_counter()
    tw = Twin(net, demand, cfg)
    stages: dict[str, float] = {}
    if hasattr(tw, "timings"):
        st = tw.run()
        full = time.perf_counter() - t0
        stages = dict(tw.timings)
    else:  # an engine without timings: split from outside
        rows = net.cells_with_sites()
        for i in range(len(rows)):
            tw.cache.get(rows.iloc[i])
        t1 = time.perf_counter()
        _ = tw.assembly
        t2 = time.perf_counter()
        st = tw.run()
        full = time.perf_counter() - t0
        t3 = time.perf_counter()
        tw._state(st.hour, demand.at(st.hour), np.asarray(st.prb_util), st.converged,
                  st.residual, st.iterations)
        res = time.perf_counter() - t3
        stages = {"links": t1 - t0, "association": t2 - t1,
                  "fixed_point": full - (t2 - t0) - res, "results": res}
    out.update({"full_s": full, "stages_s": stages, "iterations": st.iterations,
                "converged": bool(st.converged), "peak_rss_mib": maxrss_mib(),
                "peak_prb_util": float(np.max(st.prb_util)),
                "mean_prb_util": float(np.mean(st.prb_util))})
    if exact:
        out["prb_util"] = np.asarray(st.prb_util).tolist()
        out["serving"] = np.asarray(st.serving).tolist()
        out["sinr_db"] = st.res_bin["sinr_db"].to_numpy().tolist()
        return out
    cell = net.cell_ids[0]  # sector 1 of the central site
    tilt = float(net.cells.loc[net.cells["cell_id"] == cell, "elec_tilt_deg"].iloc[0])
    net2 = net.with_cell_changes(cell, {"elec_tilt_deg": tilt + 2.0})
    if hasattr(tw, "prepare_what_ifs"):
        # The base Jacobian: one-off per base twin and hour, shared by all its what-ifs.
        t0 = time.perf_counter()
        tw.prepare_what_ifs(st.hour, st.prb_util)
        out["jacobian_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    wi = tw.what_if(net2)
    st2 = wi.run(warm_start=st.prb_util)
    out["whatif_s"] = time.perf_counter() - t0
    out["whatif_stages_s"] = dict(getattr(wi, "timings", {}))
    out["whatif_iterations"] = st2.iterations
    out["speedup_full_over_whatif"] = full / out["whatif_s"]
    if hasattr(tw, "prepare_what_ifs"):
        # The same what-if with the Anderson solver of before (the changed cell's link gains
        # are cached by now, which saves it the what-if's `links` stage).
        t0 = time.perf_counter()
        wa = tw.what_if(net2, precondition=False)
        sa = wa.run(warm_start=st.prb_util)
        out["whatif_anderson_s"] = time.perf_counter() - t0
        out["whatif_anderson_stages_s"] = dict(wa.timings)
        out["whatif_anderson_iterations"] = sa.iterations
        out["whatif_newton_vs_anderson_max_abs_prb_util"] = float(
            np.max(np.abs(np.asarray(st2.prb_util) - np.asarray(sa.prb_util))))
    t0 = time.perf_counter()
    fresh_tw = Twin(net2, demand, cfg)
    fresh = fresh_tw.run()
    out["full_changed_s"] = time.perf_counter() - t0
    out["whatif_vs_full_max_abs_prb_util"] = float(
        np.max(np.abs(np.asarray(st2.prb_util) - np.asarray(fresh.prb_util))))
    out["whatif_vs_full_serving_diff_bins"] = int(
        np.sum(np.asarray(st2.serving) != np.asarray(fresh.serving)))
    out["whatif_changed_prb_util_max"] = float(
        np.max(np.abs(np.asarray(st2.prb_util) - np.asarray(st.prb_util))))
    out["prb_util"] = np.asarray(st.prb_util).tolist()
    out["serving"] = np.asarray(st.serving).tolist()
    out["sinr_db"] = st.res_bin["sinr_db"].to_numpy().tolist()
    return out


# --- the driver --------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import scipy

    cpu, mem_gib = cpu_model(), memory_gib()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_gib, 1),
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "pandas": pd.__version__,
            "platform": platform.platform(),
            "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def subprocess_case(name: str, exact: bool, engine_root: str | None, timeout: float
                    ) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", name]
    if exact:
        cmd.append("--exact")
    env = dict(os.environ)
    root = engine_root or str(ROOT)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=root)
    except subprocess.TimeoutExpired:
        return {"case": name, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"case": name, "error": proc.stderr.strip().splitlines()[-1:] or
                f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def accuracy(approx: dict[str, Any], exact: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    if "error" in exact or "error" in approx:
        return {"error": exact.get("error") or approx.get("error")}
    a, e = np.array(approx["prb_util"]), np.array(exact["prb_util"])
    sa, se = np.array(approx["serving"]), np.array(exact["serving"])
    qa = np.array(approx["sinr_db"], dtype=float)
    qe = np.array(exact["sinr_db"], dtype=float)
    ok = np.isfinite(qa) & np.isfinite(qe)
    return {"max_abs_prb_util": float(np.max(np.abs(a - e))),
            "max_rel_prb_util": float(np.max(np.abs(a - e) / np.maximum(e, 1e-9))),
            "max_abs_sinr_db": float(np.max(np.abs(qa[ok] - qe[ok]))) if ok.any() else 0.0,
            "p99_abs_sinr_db": float(np.percentile(np.abs(qa[ok] - qe[ok]), 99))
            if ok.any() else 0.0,
            "serving_diff_bins": int(np.sum(sa != se)),
            "exact_full_s": exact["full_s"], "exact_peak_rss_mib": exact["peak_rss_mib"]}


def fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if x != 0 and (abs(x) < 10 ** -nd or abs(x) >= 1e5):
            return f"{x:.1e}"
        return f"{x:.{nd}f}"
    return str(x)


def anderson(r: dict[str, Any]) -> str:
    if "whatif_anderson_s" not in r:
        return "-"
    fp = r.get("whatif_anderson_stages_s", {}).get("fixed_point")
    return (f"{fmt(r['whatif_anderson_s'], 3)} ({r['whatif_anderson_iterations']}, "
            f"{fmt(fp, 3)})")


def markdown(results: list[dict[str, Any]], info: dict[str, Any], baseline: dict[str, Any] | None
             ) -> str:
    m = info["machine"]
    lines = [
        "# Twin engine benchmark",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}, pandas {m['pandas']}; {m['date_utc']}.",
        "The machine is shared with other work: `load` is the 1-minute load average when the "
        "case started.",
        "",
        "Full run = `Twin(...)` + first `run()` (links, association, operator, fixed point, "
        "result tables). What-if = `Twin.what_if(net2).run(warm_start=prb_util)` after a 2 deg "
        "electrical tilt change of the central site's first sector. Peak RSS = `ru_maxrss` of the case's own "
        "subprocess right after the full run (includes Python, the libraries and the scenario; "
        "`setup` is the mark before the twin was built).",
        "",
        "What-if fixed point: chord-Newton on the base twin's load Jacobian "
        "(`Twin.prepare_what_ifs`), Anderson-mixed. The Jacobian (analytic, one pass over the "
        "interference operator, plus the LU of `I - J`, `n_cell x n_cell`) is built once per "
        "base twin and hour and reused by every what-if of that base, so it is NOT in the "
        "what-if time: it is the `Jacobian s` column, paid once (by the first what-if if "
        "`prepare_what_ifs` is not called). `Anderson` = the same what-if with "
        "`precondition=False` (the solver before), run after it (so with the changed cell's "
        "link gains already cached).",
        "",
        "| case | cells | bins | spacing m | full s | links | assoc | operator | fixed pt "
        "| results | iters | peak RSS MiB (setup) | what-if s | full/what-if | what-if iters "
        "| what-if fixed pt s | Jacobian s (once per base) | Anderson what-if s (iters, fixed pt s) "
        "| load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} |" + " |" * 17)
            continue
        s = r["stages_s"]
        lines.append(
            f"| {r['case']} | {r['n_cells']} | {r['n_bins']} | {fmt(r['spacing_m'], 1)} "
            f"| **{fmt(r['full_s'])}** | {fmt(s.get('links'))} | {fmt(s.get('association'))} "
            f"| {fmt(s.get('operator'))} | {fmt(s.get('fixed_point'))} | {fmt(s.get('results'))} "
            f"| {r['iterations']} | {r['peak_rss_mib']:.0f} ({r['setup_rss_mib']:.0f}) "
            f"| {fmt(r['whatif_s'], 3)} | **{fmt(r['speedup_full_over_whatif'], 1)}x** "
            f"| {r['whatif_iterations']} "
            f"| {fmt(r.get('whatif_stages_s', {}).get('fixed_point'), 3)} "
            f"| {fmt(r.get('jacobian_s'), 3)} | {anderson(r)} | {fmt(r['load_avg_1min'])} |")
    big = next((r for r in results if r.get("case") == "993c-250k" and "error" not in r), None)
    if big is not None:
        ok = big["full_s"] < 5.0 and big["peak_rss_mib"] < 4096.0
        lines += ["", f"Targets (993c-250k): full run < 5 s and < 4 GiB: **{'met' if ok else 'missed'}"
                  f"** ({big['full_s']:.2f} s, {big['peak_rss_mib'] / 1024:.2f} GiB); one-cell "
                  f"what-if >= 10x faster than a full run: **"
                  f"{'met' if big['speedup_full_over_whatif'] >= 10 else 'missed'}** "
                  f"({big['speedup_full_over_whatif']:.1f}x)."]
    lines += ["", "What-if vs a full run of the changed network, and the far-field approximation "
              "vs every link exact (`far_field_block_m=0`, same engine):", "",
              "| case | what-if vs full: max abs d prb_util | server diff bins | change made "
              "(max abs d prb_util) | far field vs exact: max abs d prb_util | max rel "
              "| max abs d SINR dB | p99 abs d SINR dB | server diff bins | exact-model full s "
              "| exact peak RSS MiB |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            continue
        a = r.get("accuracy", {})
        lines.append(
            f"| {r['case']} | {fmt(r['whatif_vs_full_max_abs_prb_util'])} "
            f"| {r['whatif_vs_full_serving_diff_bins']} | {fmt(r['whatif_changed_prb_util_max'])} "
            f"| {fmt(a.get('max_abs_prb_util'))} | {fmt(a.get('max_rel_prb_util'))} "
            f"| {fmt(a.get('max_abs_sinr_db'), 3)} | {fmt(a.get('p99_abs_sinr_db'), 4)} "
            f"| {a.get('serving_diff_bins', '-')} | {fmt(a.get('exact_full_s'))} "
            f"| {fmt(a.get('exact_peak_rss_mib'), 0)} |")
    if baseline:
        lines += ["", f"Before this work ({baseline.get('engine', '?')}; "
                  f"{baseline['machine']['date_utc']}, same machine, file "
                  "twin_bench_before.json):", "",
                  "| case | full s before | full s now | speed-up | peak RSS MiB before | now "
                  "| what-if s before | now |", "|---|---|---|---|---|---|---|---|"]
        now = {r["case"]: r for r in results if "error" not in r}
        for b in baseline["results"]:
            n = now.get(b["case"])
            if n is None:
                continue
            if "error" in b:
                lines.append(f"| {b['case']} | {b['error']} | {fmt(n['full_s'])} | - | - "
                             f"| {n['peak_rss_mib']:.0f} | - | {fmt(n['whatif_s'], 3)} |")
                continue
            lines.append(
                f"| {b['case']} | {fmt(b['full_s'])} | {fmt(n['full_s'])} "
                f"| {fmt(b['full_s'] / n['full_s'], 1)}x | {b['peak_rss_mib']:.0f} "
                f"| {n['peak_rss_mib']:.0f} | {fmt(b['whatif_s'], 3)} | {fmt(n['whatif_s'], 3)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--cases", nargs="*", help=f"cases to run (default all: {', '.join(CASES)})")
    ap.add_argument("--no-accuracy", action="store_true",
                    help="skip the exact-model comparison (it is slow on big cases)")
    ap.add_argument("--engine-root", help="import twin from this checkout instead")
    ap.add_argument("--out", default="twin_bench", help="results file stem in bench/results")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per-case limit, s")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--exact", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_case(a.one, a.exact)))
        return
    names = list(QUICK) if a.quick else (a.cases or list(CASES))
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    results = []
    for name in names:
        r = subprocess_case(name, False, a.engine_root, a.timeout)
        if not a.no_accuracy and "error" not in r:
            r["accuracy"] = accuracy(r, subprocess_case(name, True, a.engine_root, a.timeout))
        for k in ("prb_util", "serving", "sinr_db"):
            r.pop(k, None)
        print(json.dumps({k: v for k, v in r.items() if k != "stages_s"}), flush=True)
        results.append(r)
    info = {"machine": machine(), "engine": a.engine_root or "this checkout",
            "command": " ".join(["bench/twin_bench.py", *sys.argv[1:]]), "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out}.json").write_text(json.dumps(info, indent=2) + "\n")
    base_path = RESULTS / "twin_bench_before.json"
    baseline = json.loads(base_path.read_text()) if base_path.exists() and \
        a.out != "twin_bench_before" else None
    (RESULTS / f"{a.out}.md").write_text(markdown(results, info, baseline))
    print(f"wrote {RESULTS / (a.out + '.md')} and .json")


if __name__ == "__main__":
    main()
