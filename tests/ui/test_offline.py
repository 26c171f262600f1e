"""Offline by construction, tested so that any leak fails:

* the network guard itself blocks and logs a remote connection (the guard can fail a test);
* the API, run as ``celltwin serve`` with every Python process under the guard, creates a
  network, plans and exports without one blocked connection (the test process is guarded too);
* the browser: every request the pages make while a user opens each page and runs a plan goes
  to 127.0.0.1, Leaflet comes from the product's own static files, and the maps hold drawn
  layers (not an empty box);
* folium maps link only local assets; the shipped Streamlit settings keep usage statistics off.
"""

from __future__ import annotations

import json
import re
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import folium
import pytest

from tests.ui.conftest import Server, client_for
from tests.ui.netguard import celltwin_netguard as guard
from ui import maps
from ui.client import ApiClient
from ui.settings import STATIC_DIR, streamlit_flags

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture
def guarded(netguard_log: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The guard in this process too, logging to the servers' log."""
    monkeypatch.setenv(guard.LOG_ENV, str(netguard_log))
    guard.install()
    try:
        yield netguard_log
    finally:
        guard.uninstall()


def test_the_guard_blocks_and_logs_remote_connections(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "guard.log"
    monkeypatch.setenv(guard.LOG_ENV, str(log))
    guard.install()
    try:
        with pytest.raises(OSError, match="netguard"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1
        with pytest.raises(OSError):
            socket.getaddrinfo("huggingface.co", 443)
        with pytest.raises(OSError):
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53))
        with socket.socket() as s:  # loopback stays open
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            socket.create_connection(s.getsockname(), timeout=1).close()
    finally:
        guard.uninstall()
    active, blocked = guard.read_log(log)
    assert len(active) == 1 and len(blocked) == 3
    assert "192.0.2.1" in blocked[0] and "huggingface.co" in blocked[1]


def test_api_network_plan_and_export_make_no_remote_connection(
        guarded: Path, live_api: Server, record_property: Any) -> None:
    api = client_for(live_api, "planner")
    try:
        net = api.create_network("hotspot", "offline check")
        # The embedded LLM proposes (the model is on disk after install), under the guard.
        job = api.wait_plan(api.create_plan(net["id"], {
            "proposer": "llm", "llm_model": "embedded", "max_iterations": 1})["id"], timeout_s=600)
        record_property("proposer", "llm")
        assert job["status"] == "done", job.get("error")
        assert job["result"]["peak_after"] < job["result"]["peak_before"]
        assert job["result"]["provenance"]["llm"]["rounds"], "the LLM took no part"
        gj = json.loads(api.export_plan(job["id"], "geojson").content)
        assert gj["type"] == "FeatureCollection"
        csv = api.export_plan(job["id"], "csv").content.decode()
        assert len(csv.strip().splitlines()) == len(job["result"]["actions"]) + 1
        approver = client_for(live_api, "approver")  # A1 only for an approved plan
        try:
            approver.approve_plan(job["id"], "offline check", job["revision"])
        finally:
            approver.close()
        a1 = json.loads(api.export_plan(job["id"], "a1").content)
        assert isinstance(a1, dict) and a1["x_celltwin"]["approved"] is True
        health = api.health()
    finally:
        api.close()
    active, blocked = guard.read_log(guarded)
    assert not blocked, "\n".join(blocked)
    server = str(live_api.proc.pid)
    assert any(f"pid={server} " in ln for ln in active)  # the API server ran guarded
    if health["job_backend"] == "process":  # and so did the planning workers it spawned
        assert any(f"ppid={server} " in ln for ln in active), "\n".join(active)


def test_browser_pages_request_nothing_but_localhost(walkthrough: Any, live_ui: Server,
                                                    netguard_log: Path) -> None:
    w = walkthrough
    assert len(w.requests) > 20
    remote = []
    for url in w.requests:
        u = urlparse(url)
        if u.scheme in ("http", "https", "ws", "wss"):
            if u.hostname not in LOCAL_HOSTS:
                remote.append(url)
        elif u.scheme not in ("data", "blob", "about"):
            remote.append(url)
    assert not remote, "the pages asked for:\n" + "\n".join(sorted(set(remote)))
    # Leaflet and the heat plugin came from the UI's own static files
    served = [u for u in w.requests if "/app/static/vendor/" in u]
    assert any(u.endswith("/leaflet.js") for u in served)
    assert any(u.endswith("/leaflet-heat.js") for u in served)
    # the map is drawn (sector wedges, sites, outline), not an empty box
    assert w.layers["network"] and w.layers["network"][0] > 57
    assert w.screenshots["network"].is_file()
    # and no server process behind the pages reached out either
    _active, blocked = guard.read_log(netguard_log)
    assert not blocked, "\n".join(blocked)


def test_maps_link_only_local_assets(api: ApiClient, hotspot: dict[str, Any]) -> None:
    geo = api.state_geojson(hotspot["id"])
    demand = api.demand(hotspot["id"])
    m = maps.network_map(geo, demand)
    maps.check_offline(m)
    html = m.get_root().render()
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert maps.LEAFLET_JS in html and maps.LEAFLET_HEAT_JS in html
    for url in (maps.LEAFLET_JS, maps.LEAFLET_CSS, maps.LEAFLET_HEAT_JS):
        assert (STATIC_DIR / url.removeprefix("/app/static/")).is_file(), url
    for lic in ("leaflet-1.9.4/LICENSE", "leaflet.heat-0.2.0/LICENSE"):
        assert "Redistribution and use" in (STATIC_DIR / "vendor" / lic).read_text()
    # no tiles unless the user names a tile server of their own
    assert "tileLayer" not in html
    tiles = "http://tiles.example.lan/{z}/{x}/{y}.png"
    # hotspot has no place on the Earth: a geographic tile server has nothing to show under it
    assert geo["properties"]["frame"] == "local_m"
    assert "tiles.example.lan" not in maps.network_map(geo, demand, tile_url=tiles
                                                       ).get_root().render()
    placed = {**geo, "properties": {**geo["properties"], "frame": "wgs84"}}
    assert "tiles.example.lan" in maps.network_map(placed, demand, tile_url=tiles
                                                   ).get_root().render()
    # a stock folium element (CDN links) is refused before it reaches a browser
    bad = maps.network_map(geo, None)
    folium.plugins.MiniMap().add_to(bad)
    with pytest.raises(maps.OfflineAssetError, match="MiniMap"):
        maps.check_offline(bad)


def test_shipped_streamlit_settings_keep_statistics_off() -> None:
    flags = streamlit_flags()
    opts = dict(zip(flags[::2], flags[1::2], strict=True))
    assert opts["--browser.gatherUsageStats"] == "false"
    assert opts["--server.enableStaticServing"] == "true"
    assert opts["--server.address"] == "127.0.0.1"
    cfg = tomllib.loads((STATIC_DIR.parent / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["enableStaticServing"] is True


def test_streamlit_folium_bundle_names_no_remote_script() -> None:
    """The component's own page and bundle load nothing remote: its scripts and stylesheets
    are relative, and the only URLs the bundle holds are documentation strings."""
    import streamlit_folium

    build = Path(streamlit_folium.__file__).parent / "frontend" / "build"
    index = (build / "index.html").read_text()
    refs = re.findall(r"""(?:src|href)=["']([^"']+)""", index)
    assert refs and all(not r.startswith(("http:", "https:", "//")) for r in refs), refs
    for js in (build / "static" / "js").glob("*.js"):
        urls = set(re.findall(r"https?://[A-Za-z0-9./_@-]+", js.read_text(errors="replace")))
        assert urls <= {"https://reactjs.org/docs/error-decoder.html"}, urls
