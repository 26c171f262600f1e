"""``celltwin demo``: the REST API and the web UI together on this machine, offline.

Starts ``celltwin serve`` (127.0.0.1:8000) and ``streamlit run ui/app.py`` (127.0.0.1:8501)
as child processes with the offline switches set (no model hub, no telemetry, no usage
statistics; Leaflet served by the UI itself), creates the ``hotspot`` network when the
database has none, prints the URLs and the local admin token, and stops both on Ctrl-C (or
when either stops). The launcher sits above api and ui (``cli/`` is the top layer), so it
reads ``ui.settings`` directly; ``api/`` never imports ``ui``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from twin.errors import ValidationError
from ui.settings import APP_PATH, OFFLINE_ENV, streamlit_flags

STOP_TIMEOUT_S = 10.0


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="start the API and the web UI together (offline)",
                       description="Start the REST API and the Streamlit UI on this machine, "
                       "create the hotspot network if there is none, print the URLs and the "
                       "admin token; Ctrl-C stops both.")
    p.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    p.add_argument("--ui-port", type=int, default=8501, help="UI port (default 8501)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data directory (default $CELLTWIN_DATA_DIR or ./data)")
    p.add_argument("--scenario", default="hotspot",
                   help="network created on first start (default hotspot; 'none' for none)")
    p.add_argument("--start-timeout", type=float, default=120.0,
                   help="seconds to wait for both servers (default 120)")
    p.set_defaults(func=run)


def offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the children: the caller's plus every offline switch."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    return env


def wait_http(url: str, timeout_s: float, procs: list[subprocess.Popen[bytes]]) -> None:
    """Poll ``url`` until it answers 200; fail early if a child died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise ValidationError("demo", f"{' '.join(map(str, p.args[:4]))} exited with "
                                      f"{p.returncode} during start-up (see its output above)")
        try:
            if httpx.get(url, timeout=2.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise ValidationError("demo", f"{url} did not answer within {timeout_s:.0f} s")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child's process group, then SIGKILL what is left after a grace time."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def ensure_network(api: str, token: str, scenario: str) -> str | None:
    """Create ``scenario``'s network unless the database already holds a network."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api, headers=h, timeout=300.0, trust_env=False) as c:
        nets = c.get("/networks").json().get("items", [])
        if nets or scenario == "none":
            return None
        r = c.post("/networks", json={"scenario": scenario})
        if r.status_code != 201:
            raise ValidationError("demo", f"could not create the {scenario} network: "
                                  f"{r.json().get('detail', r.text)}")
        return str(r.json()["id"])


def run(args: argparse.Namespace) -> int:
    from api.auth import Role, load_tokens
    from api.settings import Settings, private_dir

    for port in (args.api_port, args.ui_port):
        if not 0 < port < 65536:
            raise ValidationError("demo", f"ports must be 1..65535, got {port}")
    settings = Settings.from_env(data_dir=args.data_dir)
    private_dir(settings.data_dir)
    tokens = load_tokens(settings)  # generates <data dir>/tokens.txt on first start
    admin = tokens.token_for(Role.admin)
    if admin is None:
        raise ValidationError("demo", f"no admin token in {tokens.source}; add an "
                              "'admin:TOKEN' entry")
    env = offline_env()
    env["CELLTWIN_DATA_DIR"] = str(settings.data_dir.resolve())
    api_url = f"http://127.0.0.1:{args.api_port}"
    ui_env = dict(env, CELLTWIN_API_URL=api_url, CELLTWIN_TOKEN=admin)
    procs: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and kill both stop the children: handled explicitly, since a shell that starts
    # us in the background leaves SIGINT ignored.
    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1",
             "--port", str(args.api_port), "--data-dir", str(settings.data_dir),
             "--log-level", "warning"],
            env=env, start_new_session=True))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
             *streamlit_flags("127.0.0.1", args.ui_port)],
            env=ui_env, start_new_session=True, stdout=subprocess.DEVNULL))
        wait_http(f"{api_url}/api/v1/health", args.start_timeout, procs)
        created = ensure_network(f"{api_url}/api/v1", admin, args.scenario)
        wait_http(f"http://127.0.0.1:{args.ui_port}/_stcore/health", args.start_timeout, procs)
        print("\ncelltwin demo is running, offline (nothing leaves this machine):", flush=True)
        print(f"  web UI     http://127.0.0.1:{args.ui_port}")
        print(f"  REST API   {api_url}/api/v1   (docs {api_url}/docs)")
        print(f"  admin token  {admin}")
        print(f"  all tokens   {tokens.source}")
        if created:
            print(f"  network    {args.scenario} created ({created})")
        print("Press Ctrl-C to stop both.\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = next(p for p in procs if p.poll() is not None)
        print(f"celltwin demo: {dead.args[2:4]} stopped ({dead.returncode}); stopping the "
              "other", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stopping = True
        print("\ncelltwin demo: stopping the API and the UI ...", flush=True)
        return 0
    finally:
        stop(procs)
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if stopping:
            print("celltwin demo: stopped.", flush=True)
