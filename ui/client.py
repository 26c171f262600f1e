"""HTTP client of the celltwin REST API (``/api/v1``); the UI talks to nothing else.

Every call returns the decoded JSON body or raises :class:`ApiClientError` with the status
and the API's own message (``detail``, plus the per-field ``errors`` or per-line policy
``issues`` when the API sends them), so that a page can show the user exactly what the server
said. A server that cannot be reached is status 0 with a message saying how to start it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ui.settings import UiSettings

ROLES = ("viewer", "planner", "approver", "admin")
LIVE_STATUSES = ("queued", "running")


@dataclass
class ApiClientError(Exception):
    """An API answer that is not a success (or no answer at all: ``status == 0``)."""

    status: int
    detail: str
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.status else self.detail

    def lines(self) -> list[str]:
        """The detail and one line per field error or policy issue, for display."""
        out = [self.detail]
        for e in self.body.get("errors") or []:
            loc = ".".join(str(p) for p in e.get("loc", []) if p != "body")
            out.append(f"{loc}: {e.get('msg', '')}" if loc else str(e.get("msg", "")))
        for i in self.body.get("issues") or []:
            where = ":".join(str(p) for p in (i.get("file"), i.get("line")) if p)
            out.append(f"{where}: {i.get('message', '')}" if where else str(i.get("message")))
        return out


@dataclass(frozen=True)
class Download:
    """A file answer (an export): bytes, media type and the suggested file name."""

    content: bytes
    media_type: str
    filename: str


class ApiClient:
    """Thin wrapper: one method per route the UI uses."""

    def __init__(self, settings: UiSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        headers = {"Accept": "application/json"}
        if settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        self._http = httpx.Client(base_url=settings.api_base, headers=headers,
                                  timeout=settings.timeout_s, transport=transport,
                                  trust_env=False)

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ApiClientError(0, f"cannot reach the celltwin API at "
                                 f"{self.settings.api_base} ({type(exc).__name__}: {exc}); "
                                 "start it with `celltwin serve` or set CELLTWIN_API_URL") from exc
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {"detail": resp.text[:500] or resp.reason_phrase}
            if not isinstance(body, dict):
                body = {"detail": str(body)}
            detail = body.get("detail")
            if not isinstance(detail, str):
                detail = str(detail or resp.reason_phrase)
            raise ApiClientError(resp.status_code, detail, body)
        return resp

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self._send(method, path, **kw)
        if resp.status_code == 204 or not resp.content:
            return {}
        return resp.json()

    # -- service ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def me(self) -> dict[str, Any]:
        """``{"name", "role"}`` of the token."""
        return self._json("GET", "/me")

    def scenarios(self) -> list[dict[str, Any]]:
        return self._json("GET", "/scenarios")["items"]

    def actions(self) -> list[dict[str, Any]]:
        """The action vocabulary (``GET /actions``): kinds, parameters, bounds."""
        return self._json("GET", "/actions")["kinds"]

    def models(self) -> list[dict[str, Any]]:
        """The LLM models a plan may name (``GET /models``)."""
        return self._json("GET", "/models")["items"]

    # -- networks --------------------------------------------------------------------------
    def networks(self) -> list[dict[str, Any]]:
        return self._json("GET", "/networks", params={"limit": 500})["items"]

    def network(self, network_id: str) -> dict[str, Any]:
        return self._json("GET", f"/networks/{network_id}")

    def create_network(self, scenario: str, name: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"scenario": scenario}
        if name:
            body["name"] = name
        return self._json("POST", "/networks", json=body)

    def upload_network(self, files: Mapping[str, tuple[str, bytes]],
                       form: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``files``: part name (network, cells, candidates, measurements) -> (file name,
        bytes); ``form``: name, format, prior, mbps_per_cell."""
        parts = {k: (fname, data, "application/octet-stream")
                 for k, (fname, data) in files.items()}
        data = {k: str(v) for k, v in (form or {}).items() if v not in (None, "")}
        return self._json("POST", "/networks/import", files=parts, data=data)

    def delete_network(self, network_id: str) -> None:
        self._json("DELETE", f"/networks/{network_id}")

    def state(self, network_id: str, hour: int | None = None) -> dict[str, Any]:
        return self._json("GET", f"/networks/{network_id}/state", params=_hour(hour))

    def state_geojson(self, network_id: str, hour: int | None = None) -> dict[str, Any]:
        return self._json("GET", f"/networks/{network_id}/state.geojson", params=_hour(hour))

    def demand(self, network_id: str, hour: int | None = None) -> dict[str, Any]:
        """Offered traffic per grid bin at an hour, with WGS84 positions (for the heatmap)."""
        return self._json("GET", f"/networks/{network_id}/demand", params=_hour(hour))

    def raster(self, network_id: str, layer: str, hour: int | None = None) -> dict[str, Any]:
        """A radio layer (best_server, rsrp, sinr, demand) as a PNG with bounds and scale."""
        return self._json("GET", f"/networks/{network_id}/raster",
                          params={"layer": layer, **_hour(hour)})

    def plan_raster(self, plan_id: str, layer: str, hour: int | None = None) -> dict[str, Any]:
        """The same layer in a plan's after-state."""
        return self._json("GET", f"/plans/{plan_id}/raster",
                          params={"layer": layer, **_hour(hour)})
    def parse_intent(self, network_id: str, text: str, parser: str = "baseline"
                     ) -> dict[str, Any]:
        """A request in plain words parsed into a planning intent (nothing runs)."""
        return self._json("POST", f"/networks/{network_id}/intents",
                          json={"text": text, "parser": parser})

    # -- plans -----------------------------------------------------------------------------
    def create_plan(self, network_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/networks/{network_id}/plans", json=dict(params))

    def plans(self, network_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first, without results."""
        params: dict[str, Any] = {"limit": 200}
        if network_id:
            params["network_id"] = network_id
        return self._json("GET", "/plans", params=params)["items"]

    def plan(self, plan_id: str) -> dict[str, Any]:
        return self._json("GET", f"/plans/{plan_id}")

    def cancel_plan(self, plan_id: str) -> dict[str, Any]:
        return self._json("POST", f"/plans/{plan_id}/cancel")

    def verify_plan(self, plan_id: str, actions: list[dict[str, Any]], save: bool = False
                    ) -> dict[str, Any]:
        """Verify an edited action list with the twin and the policy gate."""
        return self._json("POST", f"/plans/{plan_id}/verify",
                          json={"actions": actions, "save": save})

    def approve_plan(self, plan_id: str, comment: str = "",
                     revision: int | None = None) -> dict[str, Any]:
        """Approve the plan; with ``revision`` (the one shown) only if it was not edited since."""
        body: dict[str, Any] = {"comment": comment}
        if revision is not None:
            body["revision"] = revision
        return self._json("POST", f"/plans/{plan_id}/approve", json=body)

    def plan_geojson(self, plan_id: str) -> dict[str, Any]:
        return self._json("GET", f"/plans/{plan_id}/export", params={"format": "geojson"})

    def export_plan(self, plan_id: str, fmt: str) -> Download:
        resp = self._send("GET", f"/plans/{plan_id}/export", params={"format": fmt})
        media = resp.headers.get("content-type", "application/octet-stream").split(";")[0]
        fname = _filename(resp.headers.get("content-disposition", ""))
        return Download(resp.content, media, fname or f"plan-{plan_id}.{fmt}")

    def plan_report(self, plan_id: str) -> Download:
        """The plan report (``GET /plans/{id}/report``): one self-contained HTML page."""
        resp = self._send("GET", f"/plans/{plan_id}/report")
        return Download(resp.content, "text/html", f"plan-{plan_id}-report.html")

    def wait_plan(self, plan_id: str, on_progress: Callable[[dict[str, Any]], None] | None = None,
                  timeout_s: float = 600.0) -> dict[str, Any]:
        """Poll a plan until it leaves queued/running; ``on_progress`` sees every answer."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.plan(plan_id)
            if on_progress is not None:
                on_progress(job)
            if job.get("status") not in LIVE_STATUSES:
                return job
            if time.monotonic() > deadline:
                raise ApiClientError(0, f"plan {plan_id} still {job.get('status')} after "
                                     f"{timeout_s:.0f} s; it keeps running on the server")
            time.sleep(self.settings.poll_s)

    # -- policies and audit ----------------------------------------------------------------
    def policy(self) -> dict[str, Any]:
        return self._json("GET", "/policies")

    def validate_policy(self, files: Mapping[str, str]) -> dict[str, Any]:
        """``{"valid", "policy_hash", "rules", "issues": [{"file", "line", "message"}]}``."""
        return self._json("POST", "/policies/validate", json={"files": dict(files)})

    def replace_policy(self, files: Mapping[str, str]) -> dict[str, Any]:
        return self._json("PUT", "/policies", json={"files": dict(files)})

    def test_policy(self, files: Mapping[str, str] | None = None) -> dict[str, Any]:
        body = {"files": dict(files)} if files is not None else {}
        return self._json("POST", "/policies/test", json=body)

    def audit(self, network_id: str | None = None, plan_id: str | None = None,
              limit: int = 200) -> list[dict[str, Any]]:
        """Audit records, newest first."""
        params: dict[str, Any] = {"limit": limit}
        if network_id:
            params["network_id"] = network_id
        if plan_id:
            params["plan_id"] = plan_id
        return self._json("GET", "/audit", params=params)["items"]

    def plan_audit(self, plan_id: str) -> dict[str, Any]:
        """``{"plan_id", "provenance", "approvals", "events"}``."""
        return self._json("GET", f"/plans/{plan_id}/audit")


def _hour(hour: int | None) -> dict[str, Any]:
    return {} if hour is None else {"hour": int(hour)}


def _filename(disposition: str) -> str:
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip().strip('"')
    return ""


def role_at_least(role: str | None, needed: str) -> bool:
    """Roles are ordered viewer < planner < approver < admin."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)
