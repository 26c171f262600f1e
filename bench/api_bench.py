"""Benchmark of the REST API under load: concurrent readers of the twin state while planning
jobs run, on loopback.

Usage::

    .venv/bin/python bench/api_bench.py                 # 60 s, writes bench/results/api_bench.*
    .venv/bin/python bench/api_bench.py --duration 10   # a smoke run
    .venv/bin/python bench/api_bench.py --url http://127.0.0.1:8000/api/v1 --token TOKEN

Without ``--url`` it starts ``celltwin serve`` on a free loopback port (a fresh data
directory, SQLite, the default process-pool job backend with ``--workers`` planning
processes) and stops it at the end.

Load, for ``--duration`` seconds, all on one asyncio loop with httpx:

* ``--readers`` clients (default 20), each in a loop: ``GET /networks/{id}/state?hour=H``
  on a ``hotspot`` network, ``H`` drawn uniformly from 0..23 (so the first reads of each hour
  run the twin, later ones hit the server's state cache);
* ``--planners`` clients (default 5), each in a loop: ``POST /networks/{id}/plans`` (the
  systematic generator, see :data:`PLAN`), then ``GET /plans/{id}`` every 0.5 s until the job
  ends; a job still running at the deadline is waited for (up to ``--drain`` s) and counted.

Reported: requests, throughput (req/s over the window), latency p50/p99/max per kind of
request, planning jobs finished per minute with their wall time (submit -> done), and errors:
any transport error, any 5xx, any unexpected status, any job that ends failed or interrupted
(target: zero).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from machine_info import cpu_model, memory_gib  # noqa: E402

#: Planning request of every job: the systematic generator around the hot cell and its
#: strongest neighbour, small cells included (about 40 candidates, one what-if each), at most
#: 3 actions, one select-verify round: about 5 s on an idle core.
PLAN: dict[str, Any] = {"max_actions": 3, "max_iterations": 1, "max_neighbours": 1,
                        "small_cells": True}
TOKEN = "bench-admin-token-0123456789"


@dataclass
class Stats:
    latencies_s: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies_s.setdefault(kind, []).append(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "CELLTWIN_TOKENS": f"admin:{TOKEN}", "CELLTWIN_WORKERS": str(workers),
           "CELLTWIN_JOB_BACKEND": "process", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port),
                             "--data-dir", str(data_dir), "--log-level", "warning"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/api/v1"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 90:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not start within 90 s")


async def reader(client: httpx.AsyncClient, network_id: str, deadline: float,
                 stats: Stats, rng: random.Random) -> None:
    while time.monotonic() < deadline:
        hour = rng.randrange(24)
        t0 = time.perf_counter()
        try:
            r = await client.get(f"/networks/{network_id}/state", params={"hour": hour})
            dt_s = time.perf_counter() - t0
            if r.status_code != 200:
                stats.errors.append(f"state {hour}: HTTP {r.status_code} {r.text[:200]}")
            else:
                stats.add("state", dt_s)
        except httpx.HTTPError as exc:
            stats.errors.append(f"state {hour}: {type(exc).__name__}: {exc}")


async def planner(client: httpx.AsyncClient, network_id: str, deadline: float, drain_s: float,
                  stats: Stats) -> None:
    while time.monotonic() < deadline:
        t_submit = time.perf_counter()
        try:
            r = await client.post(f"/networks/{network_id}/plans", json=PLAN)
            stats.add("plan_submit", time.perf_counter() - t_submit)
            if r.status_code != 202:
                stats.errors.append(f"submit: HTTP {r.status_code} {r.text[:200]}")
                await asyncio.sleep(1)
                continue
            plan_id = r.json()["id"]
            while True:
                await asyncio.sleep(0.5)
                t0 = time.perf_counter()
                r = await client.get(f"/plans/{plan_id}")
                stats.add("plan_poll", time.perf_counter() - t0)
                if r.status_code != 200:
                    stats.errors.append(f"poll: HTTP {r.status_code} {r.text[:200]}")
                    break
                body = r.json()
                if body["status"] in ("done", "failed", "cancelled", "interrupted"):
                    wall = time.perf_counter() - t_submit
                    stats.jobs.append({"id": plan_id, "status": body["status"],
                                       "wall_s": wall, "ended_after_deadline":
                                       time.monotonic() > deadline,
                                       "error": body.get("error")})
                    if body["status"] != "done":
                        stats.errors.append(f"plan {plan_id} {body['status']}: "
                                            f"{(body.get('error') or '')[:200]}")
                    break
                if time.monotonic() > deadline + drain_s:
                    stats.errors.append(f"plan {plan_id} still {body['status']} "
                                        f"{drain_s:.0f} s after the deadline")
                    break
        except httpx.HTTPError as exc:
            stats.errors.append(f"planner: {type(exc).__name__}: {exc}")
            await asyncio.sleep(1)


def pct(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    a = np.asarray(values) * 1000.0
    return {"n": len(values), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "max_ms": round(float(a.max()), 2), "mean_ms": round(float(a.mean()), 2)}


def seconds(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "max": None}
    a = np.asarray(values)
    return {"n": len(values), "p50": round(float(np.percentile(a, 50)), 2),
            "max": round(float(a.max()), 2)}


async def run_load(url: str, token: str, duration_s: float, n_readers: int, n_planners: int,
                   drain_s: float, seed: int) -> tuple[Stats, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=n_readers + n_planners + 4)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120,
                                 limits=limits) as client:
        r = await client.post("/networks", json={"scenario": "hotspot"})
        r.raise_for_status()
        network_id = r.json()["id"]
        (await client.get(f"/networks/{network_id}/state")).raise_for_status()  # warm-up
        stats = Stats()
        t0 = time.monotonic()
        deadline = t0 + duration_s
        rng = random.Random(seed)
        tasks = [reader(client, network_id, deadline, stats, random.Random(rng.random()))
                 for _ in range(n_readers)]
        tasks += [planner(client, network_id, deadline, drain_s, stats)
                  for _ in range(n_planners)]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
    return stats, {"network_id": network_id, "elapsed_s": elapsed}


def machine() -> dict[str, Any]:
    cpu, mem_gib = cpu_model(), memory_gib()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1),
            "load_average_before": load, "commit": commit}


def report(stats: Stats, meta: dict[str, Any], args: argparse.Namespace,
           before: dict[str, Any]) -> dict[str, Any]:
    window = args.duration
    in_window = [j for j in stats.jobs if not j["ended_after_deadline"]]
    done = [j for j in stats.jobs if j["status"] == "done"]
    n_req = sum(len(v) for v in stats.latencies_s.values())
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": before,
        "config": {"duration_s": args.duration, "readers": args.readers,
                   "planners": args.planners, "planning_workers": args.workers,
                   "plan_request": PLAN, "scenario": "hotspot", "server": args.url or
                   "celltwin serve (uvicorn, 1 process), SQLite, process-pool jobs"},
        "elapsed_s": round(meta["elapsed_s"], 2),
        "requests": n_req,
        "throughput_rps": round(n_req / window, 1),
        "state_reads_per_s": round(len(stats.latencies_s.get("state", [])) / window, 1),
        "latency": {k: pct(v) for k, v in sorted(stats.latencies_s.items())},
        "plans": {"finished": len(stats.jobs), "done": len(done),
                  "finished_within_window": len(in_window),
                  "per_minute": round(len(in_window) / window * 60.0, 2),
                  "wall_s": seconds([j["wall_s"] for j in done])},
        "errors": len(stats.errors),
        "error_samples": stats.errors[:20],
    }


def write_markdown(res: dict[str, Any], path: Path) -> None:
    m, c = res["machine"], res["config"]
    lines = [
        "# API benchmark (bench/api_bench.py)",
        "",
        f"Date {res['date']}, commit {m['commit']}; {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, {m['platform']}, Python {m['python']}; load average before "
        f"the run {m['load_average_before']} (the machine is shared: numbers are indicative).",
        "",
        f"Load for {c['duration_s']:g} s on loopback: {c['readers']} concurrent readers of "
        f"`GET /networks/{{id}}/state?hour=H` (H uniform in 0..23) on `{c['scenario']}` and "
        f"{c['planners']} concurrent planning clients (`POST /networks/{{id}}/plans` "
        f"{json.dumps(c['plan_request'])}, polled every 0.5 s), {c['planning_workers']} "
        f"planning worker processes. Server: {c['server']}.",
        "",
        "| requests | throughput (req/s) | state reads/s | errors |",
        "|---:|---:|---:|---:|",
        f"| {res['requests']} | {res['throughput_rps']} | {res['state_reads_per_s']} | "
        f"{res['errors']} |",
        "",
        "| request | n | p50 (ms) | p99 (ms) | max (ms) | mean (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, v in res["latency"].items():
        lines.append(f"| {k} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} | {v['max_ms']} | "
                     f"{v['mean_ms']} |")
    p = res["plans"]
    w = p["wall_s"]
    lines += ["", f"Planning jobs: {p['done']} done of {p['finished']} finished "
              f"({p['finished_within_window']} within the window, {p['per_minute']} per "
              f"minute); wall time submit -> done p50 {w['p50']} s, max {w['max']} s."]
    if res["error_samples"]:
        lines += ["", "Errors (first 20):", ""] + [f"- {e}" for e in res["error_samples"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--readers", type=int, default=20)
    ap.add_argument("--planners", type=int, default=5)
    ap.add_argument("--workers", type=int, default=5, help="planning worker processes")
    ap.add_argument("--drain", type=float, default=180.0,
                    help="seconds to wait for jobs still running at the deadline")
    ap.add_argument("--url", default=None, help="use a running server (its /api/v1 URL)")
    ap.add_argument("--token", default=TOKEN, help="admin/planner token with --url")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_bench")
    args = ap.parse_args()
    before = machine()
    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="celltwin-api-bench-")
    url = args.url
    try:
        if url is None:
            proc, url = start_server(Path(tmp.name), args.workers)
        stats, meta = asyncio.run(run_load(url, args.token, args.duration, args.readers,
                                           args.planners, args.drain, args.seed))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        tmp.cleanup()
    res = report(stats, meta, args, before)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    write_markdown(res, args.out.with_suffix(".md"))
    print(args.out.with_suffix(".md").read_text())
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
