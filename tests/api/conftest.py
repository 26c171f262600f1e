"""Fixtures of the API tests: an app on a temporary data directory with explicit tokens, the
thread job backend (jobs start at once, no worker processes to spawn), a hotspot network, a
small uploadable network, and a finished quick plan.

Plans use the systematic generator with a small search (hot cells only, no small cells, one
round, two actions): a few seconds on hotspot.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from twin.importers import DEFAULT_CELL
from twin.scenarios.layout import hex_sites, three_sector_network_tables

TOKENS = {"viewer": "viewer-token-0123456789", "planner": "planner-token-0123456789",
          "approver": "approver-token-0123456789", "admin": "admin-token-0123456789"}
QUICK_PLAN = {"max_actions": 2, "max_iterations": 1, "max_neighbours": 0, "small_cells": False}


def token_env() -> str:
    return ",".join(f"{role}:{tok}" for role, tok in TOKENS.items())


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": data_dir, "tokens": token_env(),
                              "job_backend": "thread", "workers": 2}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path_factory.mktemp("api-data")))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def hotspot_id(client: TestClient) -> str:
    r = client.post("/api/v1/networks", json={"scenario": "hotspot"}, headers=auth("planner"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def wait_plan(client: TestClient, plan_id: str, timeout_s: float = 60.0,
              until: tuple[str, ...] = ("done", "failed", "cancelled", "interrupted")
              ) -> dict[str, Any]:
    t0 = time.monotonic()
    while True:
        body = client.get(f"/api/v1/plans/{plan_id}", headers=auth("viewer")).json()
        if body["status"] in until:
            return body  # type: ignore[no-any-return]
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"plan {plan_id} still {body['status']} after {timeout_s} s: "
                                 f"{body['stage']}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def done_plan(client: TestClient, hotspot_id: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/networks/{hotspot_id}/plans", json=QUICK_PLAN,
                    headers=auth("planner"))
    assert r.status_code == 202, r.text
    body = wait_plan(client, r.json()["id"])
    assert body["status"] == "done", body
    return body


# --- a small network to upload ---------------------------------------------------------------
def small_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """7 three-sector sites (21 cells), 500 m apart, default LTE band-3 cells."""
    return three_sector_network_tables(hex_sites(1, 500.0), dict(DEFAULT_CELL))


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()
