"""``celltwin demo`` (what ``make demo`` runs): API and UI come up on loopback with the hotspot
network and a working admin token, nothing reaches out, and Ctrl-C stops both."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ui.conftest import REPO, free_port, guarded_env
from tests.ui.netguard import celltwin_netguard as guard


def test_demo_starts_api_and_ui_offline_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    api_port, ui_port = free_port(), free_port()
    log = tmp_path / "netguard.log"
    env = guarded_env(log)
    for k in ("CELLTWIN_TOKENS", "CELLTWIN_TOKENS_FILE", "CELLTWIN_DATA_DIR"):
        env.pop(k, None)
    out = tmp_path / "demo.out"
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "demo", "--api-port", str(api_port),
             "--ui-port", str(ui_port), "--data-dir", str(tmp_path / "data")],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            text = ""
            while "Press Ctrl-C" not in text:
                assert proc.poll() is None, out.read_text()
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(0.3)
                text = out.read_text()
            token = re.search(r"admin token\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            assert f"http://127.0.0.1:{ui_port}" in text
            api = f"http://127.0.0.1:{api_port}/api/v1"
            nets = httpx.get(f"{api}/networks", headers={"Authorization": f"Bearer {token}"},
                             trust_env=False).json()["items"]
            assert [n["scenario"] for n in nets] == ["hotspot"]
            me = httpx.get(f"{api}/me", headers={"Authorization": f"Bearer {token}"},
                           trust_env=False).json()
            assert me["role"] == "admin"
            ui = httpx.get(f"http://127.0.0.1:{ui_port}/app/static/vendor/leaflet-1.9.4/"
                           "leaflet.js", trust_env=False)
            assert ui.status_code == 200 and "javascript" in ui.headers["content-type"]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    assert proc.returncode == 0, out.read_text()
    assert "stopped." in out.read_text()
    for port in (api_port, ui_port):  # both children are gone: nothing listens any more
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0, trust_env=False)
            raise AssertionError(f"port {port} still answers after Ctrl-C")
        except httpx.ConnectError:
            pass
    active, blocked = guard.read_log(log)
    assert not blocked, "\n".join(blocked)
    assert len(active) >= 3  # the demo launcher, the API server and Streamlit were guarded
