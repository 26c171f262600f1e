"""Property-based tests of every operation in /openapi.json (schemathesis): generated valid
and invalid requests, sent with an admin token, must never produce a server error (5xx).

Examples per operation are bounded (:data:`MAX_EXAMPLES`) to keep the suite fast. GET
requests on a network read a real hotspot network; other path ids stay random (404/422
answers), so no long planning job starts.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from tests.api.conftest import TOKENS, make_settings

MAX_EXAMPLES = 12
ADMIN = {"Authorization": f"Bearer {TOKENS['admin']}"}

# The schema is read from the app at collection time; the app's lifespan runs in the fixture.
DATA_DIR = Path(tempfile.mkdtemp(prefix="celltwin-schemathesis-"))
APP = create_app(make_settings(DATA_DIR, max_upload_mb=1.0))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[TestClient]:
    with TestClient(APP) as client:
        r = client.post("/api/v1/networks", json={"scenario": "hotspot"}, headers=ADMIN)
        assert r.status_code == 201, r.text
        KNOWN["network_id"] = r.json()["id"]
        yield client
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    # reads of a real network (state, maps, demand at generated hours); writes keep their
    # random ids so that no long planning job starts
    if case.method == "GET" and "network_id" in (case.path_parameters or {}):
        case.path_parameters["network_id"] = KNOWN["network_id"]
    case.call_and_validate(headers=ADMIN, checks=[not_a_server_error])
