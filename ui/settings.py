"""Settings of the Streamlit front end, read from the environment.

| variable | default | meaning |
|---|---|---|
| ``CELLTWIN_API_URL`` | ``http://127.0.0.1:8000`` | base URL of the REST API (``/api/v1`` is appended) |
| ``CELLTWIN_TOKEN`` | unset | bearer token sent with every request (the role decides what the UI offers) |
| ``CELLTWIN_TILE_URL`` | unset | a Leaflet tile URL template of *your own* tile server, e.g. ``http://tiles.lan/{z}/{x}/{y}.png``; unset: no base tiles at all, the map draws only what the product owns |
| ``CELLTWIN_TILE_ATTRIBUTION`` | ``own tile server`` | attribution shown with those tiles |
| ``CELLTWIN_UI_TIMEOUT_S`` | ``30`` | HTTP timeout of one API call |
| ``CELLTWIN_UI_POLL_S`` | ``0.5`` | how often a running plan's progress is polled |

Offline by construction: nothing here points outside the machine by default, the Leaflet files
are served by Streamlit itself (:data:`STATIC_URL`), and :func:`streamlit_flags` turns usage
statistics off and static serving on for every start (``celltwin demo``, the tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
#: ui/static/ is served by Streamlit at /app/static/ (``server.enableStaticServing``).
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/app/static"
APP_PATH = Path(__file__).resolve().parent / "app.py"
DEFAULT_UI_PORT = 8501


class UiSettings(BaseModel):
    """Resolved UI settings (tests pass explicit values)."""

    model_config = ConfigDict(frozen=True)

    api_url: str = DEFAULT_API_URL
    token: str | None = None
    tile_url: str | None = None
    tile_attribution: str = "own tile server"
    timeout_s: float = Field(30.0, gt=0)
    poll_s: float = Field(0.5, gt=0)

    @property
    def api_base(self) -> str:
        base = self.api_url.rstrip("/")
        return base if base.endswith(API_PREFIX) else base + API_PREFIX

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UiSettings:
        e = os.environ if env is None else env
        values: dict[str, object] = {}
        for key, name in (("api_url", "CELLTWIN_API_URL"), ("token", "CELLTWIN_TOKEN"),
                          ("tile_url", "CELLTWIN_TILE_URL"),
                          ("tile_attribution", "CELLTWIN_TILE_ATTRIBUTION"),
                          ("timeout_s", "CELLTWIN_UI_TIMEOUT_S"),
                          ("poll_s", "CELLTWIN_UI_POLL_S")):
            if e.get(name, "").strip():
                values[key] = e[name].strip()
        return cls.model_validate(values)


#: Environment that keeps every library of the server side off the network (model hubs,
#: telemetry). ``celltwin demo`` and the tests set it; harmless where nothing reads it.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_ENABLE_STATIC_SERVING": "true",
}


def streamlit_flags(address: str = "127.0.0.1", port: int = DEFAULT_UI_PORT) -> list[str]:
    """``streamlit run`` options of the shipped configuration: loopback only, headless,
    no usage statistics, static files (the vendored Leaflet) served from ui/static/."""
    return ["--server.address", address, "--server.port", str(port),
            "--server.headless", "true",
            "--server.enableStaticServing", "true",
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal",
            "--global.developmentMode", "false"]
