"""Live servers for the UI tests: the real API (``celltwin serve`` on loopback, a fresh SQLite
database) and the real Streamlit UI, both started once per session, both under the network
guard (``netguard/``: any non-loopback connection is blocked and logged), and headless Debian
chromium driven by playwright (``make test`` installs it with apt when missing: the Makefile's
system-deps; never ``playwright install``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ports import free_port
from ui.client import ApiClient
from ui.settings import APP_PATH, OFFLINE_ENV, UiSettings, streamlit_flags

REPO = Path(__file__).resolve().parents[2]
NETGUARD_DIR = Path(__file__).resolve().parent / "netguard"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-quic", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
TOKENS = {role: f"{role}-token-celltwin-ui-tests" for role in
          ("viewer", "planner", "approver", "admin")}
START_TIMEOUT_S = 120.0


@dataclass
class Server:
    """A child server process on loopback."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    data_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v1"

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-n:]
        except FileNotFoundError:
            return ""


def _start(cmd: list[str], env: dict[str, str], log: Path, health: str) -> subprocess.Popen[bytes]:
    fh = log.open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{cmd[2:5]} exited with {proc.returncode}:\n"
                        f"{log.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(health, timeout=2.0, trust_env=False).status_code == 200:
                return proc
        time.sleep(0.25)
    _stop(proc)
    pytest.fail(f"{health} did not answer in {START_TIMEOUT_S:.0f} s:\n"
                f"{log.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def guarded_env(netguard_log: Path, **extra: str) -> dict[str, str]:
    """The product's offline environment plus the network guard for every Python child."""
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), str(REPO)])
    env["CELLTWIN_NETGUARD_LOG"] = str(netguard_log)
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def netguard_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("netguard") / "netguard.log"


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory, netguard_log: Path) -> Iterator[Server]:
    """``celltwin serve`` on a free loopback port with a fresh data directory (SQLite)."""
    d = tmp_path_factory.mktemp("api")
    port = free_port()
    env = guarded_env(netguard_log, CELLTWIN_DATA_DIR=str(d / "data"), CELLTWIN_WORKERS="1",
                      CELLTWIN_TOKENS=",".join(f"{r}:{t}" for r, t in TOKENS.items()))
    cmd = [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--data-dir", str(d / "data"), "--log-level", "warning"]
    log = d / "api.log"
    proc = _start(cmd, env, log, f"http://127.0.0.1:{port}/api/v1/health")
    server = Server(f"http://127.0.0.1:{port}", proc, log, d / "data")
    yield server
    _stop(proc)


def client_for(server: Server, role: str = "admin") -> ApiClient:
    return ApiClient(UiSettings(api_url=server.url, token=TOKENS[role], poll_s=0.3))


@pytest.fixture(scope="session")
def api(live_api: Server) -> Iterator[ApiClient]:
    c = client_for(live_api)
    yield c
    c.close()


@pytest.fixture(scope="session")
def hotspot(api: ApiClient) -> dict[str, Any]:
    """The hotspot network, created through the API."""
    return api.create_network("hotspot")


@pytest.fixture(scope="session")
def done_plan(api: ApiClient, hotspot: dict[str, Any]) -> dict[str, Any]:
    """A finished plan on hotspot (two select-verify rounds), created through the API."""
    created = api.create_plan(hotspot["id"], {"max_iterations": 2})
    job = api.wait_plan(created["id"], timeout_s=300)
    assert job["status"] == "done", job
    return job


@pytest.fixture(scope="session")
def live_ui(live_api: Server, netguard_log: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Server]:
    """``streamlit run ui/app.py`` with the shipped flags, talking to ``live_api``."""
    d = tmp_path_factory.mktemp("ui")
    port = free_port()
    env = guarded_env(netguard_log, CELLTWIN_API_URL=live_api.url,
                      CELLTWIN_TOKEN=TOKENS["admin"], CELLTWIN_UI_POLL_S="0.3")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
           *streamlit_flags("127.0.0.1", port)]
    proc = _start(cmd, env, d / "ui.log", f"http://127.0.0.1:{port}/_stcore/health")
    server = Server(f"http://127.0.0.1:{port}", proc, d / "ui.log")
    yield server
    _stop(proc)


def ensure_chromium() -> str:
    """Path of the Debian chromium (``make test`` installs it: the Makefile's system-deps)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = (f"{CHROMIUM} is missing: run `make system-deps` as root (or apt-get install "
               "chromium chromium-driver)")
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def walkthrough(browser: Any, live_ui: Server, hotspot: dict[str, Any], api: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One user's walk through every page (a plan run on hotspot), recorded. Screenshots go to
    a temporary folder, or to docs/screenshots/ (the ones committed for reviewers) when
    CELLTWIN_SCREENSHOTS=1, so that `make test` leaves the checkout clean."""
    from tests.ui.walkthrough import walk

    shots = (SCREENSHOTS if os.environ.get("CELLTWIN_SCREENSHOTS") == "1"
             else tmp_path_factory.mktemp("screenshots"))
    # a denied plan to open by a deep link: a copy of the finished plan whose saved edit sets
    # a tilt just past the policy's bound
    denied = api.create_plan(hotspot["id"], {"max_iterations": 1, "max_actions": 2})
    assert api.wait_plan(denied["id"], timeout_s=300)["status"] == "done"
    api.verify_plan(denied["id"], [{"kind": "set_tilt", "cell_id": "S01-1",
                                    "elec_tilt_deg": 12.00001}], save=True)
    api.create_network("calib-umi", name="umi for the browser")
    return walk(browser, f"{live_ui.url}/?network={hotspot['id']}", shots,
                denied_plan=denied["id"], other_network="umi for the browser")
