"""Property-based tests of every operation in /openapi.json (schemathesis): generated valid
and invalid requests, sent with an admin token, must never produce a server error (5xx).

Two runs:

* **per operation**, bounded by :data:`MAX_EXAMPLES`: GET requests on a network read a real
  hotspot network; other path ids stay random (404/422 answers), so no planning job starts;
* **stateful** (:class:`Workflow`): sequences of calls that follow the links between
  operations (schemathesis infers them from the response schemas: ``POST /networks`` gives the
  ``id`` that ``GET /networks/{network_id}``, its state, plans, ... take; ``POST
  .../plans`` the ``id`` of ``/plans/{plan_id}`` with cancel, verify, approve, export,
  audit), so ids are real and the checks behind the 404s are reached. A plan that such a
  sequence starts is cut to a small search (:data:`SMALL_PLAN`: seconds, no LLM), bounded by
  :data:`STATEFUL_EXAMPLES` sequences of at most :data:`STATEFUL_STEPS` calls.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from api.db.models import LIVE_STATUSES
from api.main import create_app
from tests.api.conftest import TOKENS, make_settings

MAX_EXAMPLES = 12
STATEFUL_EXAMPLES = 20
STATEFUL_STEPS = 10
ADMIN = {"Authorization": f"Bearer {TOKENS['admin']}"}
#: What a valid plan request of a stateful sequence is cut to (the knobs that cost time).
SMALL_PLAN = {"max_actions": 2, "max_iterations": 1, "max_neighbours": 0,
              "small_cells": False, "horizon": "busy", "proposer": "systematic"}

# The schema is read from the app at collection time; the app's lifespan runs in the fixture.
DATA_DIR = Path(tempfile.mkdtemp(prefix="celltwin-schemathesis-"))
APP = create_app(make_settings(DATA_DIR, max_upload_mb=1.0))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
KNOWN: dict[str, str] = {}
CLIENT: dict[str, TestClient] = {}
#: How long a stateful sequence waits for a small plan job it started (seconds).
JOB_WAIT_S = 120.0


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[TestClient]:
    with TestClient(APP) as client:
        r = client.post("/api/v1/networks", json={"scenario": "hotspot"}, headers=ADMIN)
        assert r.status_code == 201, r.text
        KNOWN["network_id"] = r.json()["id"]
        CLIENT["app"] = client
        yield client
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    # reads of a real network (state, maps, demand at generated hours); writes keep their
    # random ids so that no long planning job starts
    if case.method == "GET" and "network_id" in (case.path_parameters or {}):
        case.path_parameters["network_id"] = KNOWN["network_id"]
    case.headers = {**(case.headers or {}), **ADMIN}  # not a test of the auth scheme
    case.call_and_validate(checks=[not_a_server_error])


# --- stateful: sequences that follow the links ---------------------------------------------------
class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Calls chained by the (inferred) links, with an admin token; only 5xx fail."""

    def before_call(self, case: schemathesis.Case) -> None:
        case.headers = {**(case.headers or {}), **ADMIN}  # not a test of the auth scheme
        if case.method == "POST" and isinstance(case.body, dict):
            if case.path.endswith("/plans"):
                case.body.update(SMALL_PLAN)  # a valid request plans in seconds
            elif case.path == "/api/v1/networks" and "scenario" in case.body:
                case.body["scenario"] = "hotspot"  # sequences start from a real network

    def after_call(self, response: Any, case: schemathesis.Case) -> None:
        # What may follow a plan (approve, verify, export) depends on whether its job is done;
        # waiting for it makes each sequence's transitions independent of the machine's speed
        # (hypothesis reports FlakyStrategyDefinition when the same draws meet another state).
        if case.method == "POST" and case.path.endswith("/plans") and \
                response.status_code == 202:
            url = f"/api/v1/plans/{response.json()['id']}"
            deadline = time.monotonic() + JOB_WAIT_S
            while time.monotonic() < deadline:
                if CLIENT["app"].get(url, headers=ADMIN).json()["status"] not in LIVE_STATUSES:
                    return
                time.sleep(0.05)
            raise AssertionError(f"plan job {url} still running after {JOB_WAIT_S:.0f} s")

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, dict[str, str]]:
        return {"headers": ADMIN}

    def validate_response(self, response: Any, case: schemathesis.Case,
                          additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(response, checks=[not_a_server_error],
                               transport_kwargs=kwargs or None, recorder=self.recorder)


def test_the_links_are_inferred() -> None:
    """The stateful run has transitions to follow (else it would test nothing)."""
    links = {(src, link.target.label) for src, entry in Workflow._transitions.operations.items()
             for link in entry.outgoing}
    assert ("POST /api/v1/networks", "GET /api/v1/networks/{network_id}/state") in links
    assert ("POST /api/v1/networks/{network_id}/plans", "POST /api/v1/plans/{plan_id}/approve"
            ) in links


TestStateful = Workflow.TestCase
# The draws of a sequence depend on the app's answers (the links carry the ids it returns), so
# hypothesis replaying a stored or shrunk sequence against a changed app state reports
# FlakyStrategyDefinition (measured: 1 run in 3 before this). A fixed seed, no example
# database and no shrinking keep each run one plain generation pass; a 5xx still fails it.
TestStateful.settings = settings(max_examples=STATEFUL_EXAMPLES,
                                 stateful_step_count=STATEFUL_STEPS, deadline=None,
                                 suppress_health_check=list(HealthCheck), derandomize=True,
                                 database=None, phases=(Phase.explicit, Phase.generate))
