"""``GET /models`` and how a plan names its LLM model: by the id the server offers, never by
an arbitrary server path; a missing, unknown or broken model is a 422 that queues nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import QUICK_PLAN, auth, make_settings, wait_plan

EMBEDDED_FILE = "gemma-3-270m-q4_k_m.gguf"  # the embedded model's assembled copy: not listed


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("models")
    # GGUF by its magic bytes (llama.cpp cannot load it: the job must fail, not the request)
    (d / "tiny.gguf").write_bytes(b"GGUF" + b"\0" * 60)
    (d / "broken.gguf").write_bytes(b"PK\x03\x04 a zip file, not a model")
    (d / "notes.txt").write_text("not a model")
    (d / EMBEDDED_FILE).write_bytes(b"GGUF" + b"\0" * 60)
    return d


@pytest.fixture(scope="module")
def extra_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("elsewhere") / "from-env.gguf"
    path.write_bytes(b"GGUF" + b"\1" * 60)
    return path


@pytest.fixture(scope="module")
def mclient(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
            extra_model: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("api-models"), model_dir=model_dir,
                             default_model=str(extra_model))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def net_id(mclient: TestClient) -> str:
    r = mclient.post("/api/v1/networks", json={"scenario": "hotspot"}, headers=auth("planner"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_models_lists_the_embedded_model_the_directory_and_the_env_model(
        mclient: TestClient, model_dir: Path) -> None:
    assert mclient.get("/api/v1/models").status_code == 401
    r = mclient.get("/api/v1/models", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    items = {m["id"]: m for m in body["items"]}
    assert list(items) == ["embedded", "broken.gguf", "tiny.gguf", "from-env.gguf"]
    assert body["count"] == 4
    assert items["embedded"]["embedded"] and items["embedded"]["usable"]
    assert items["tiny.gguf"]["usable"] and items["tiny.gguf"]["size_mb"] == 0.0
    assert not items["broken.gguf"]["usable"]
    assert "'broken.gguf' is not a GGUF file" in items["broken.gguf"]["problem"]
    assert str(model_dir) not in r.text  # ids, never server paths


def _plan(c: TestClient, net_id: str, model: str) -> Any:
    return c.post(f"/api/v1/networks/{net_id}/plans", headers=auth("planner"),
                  json={**QUICK_PLAN, "proposer": "llm", "llm_model": model})


@pytest.mark.parametrize(("model", "says"), [
    ("broken.gguf", "is not a GGUF file"),
    ("missing.gguf", "unknown model 'missing.gguf'"),
    ("/etc/passwd", "unknown model '/etc/passwd'"),
    ("TINY_BY_PATH", "unknown model"),  # the path of an offered file: ids only
])
def test_a_plan_naming_a_bad_or_unknown_model_is_422_and_queues_nothing(
        mclient: TestClient, net_id: str, model_dir: Path, model: str, says: str) -> None:
    if model == "TINY_BY_PATH":
        model = str(model_dir / "tiny.gguf")
    before = mclient.get("/api/v1/plans", headers=auth("viewer")).json()["count"]
    r = _plan(mclient, net_id, model)
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"]
    if "unknown" in says:
        assert "'embedded', 'tiny.gguf', 'from-env.gguf'" in r.json()["detail"]
    assert mclient.get("/api/v1/plans", headers=auth("viewer")).json()["count"] == before


def test_a_plan_naming_an_offered_model_runs_with_that_file(mclient: TestClient,
                                                             net_id: str) -> None:
    # The request is accepted; the job loads the named file, which llama.cpp refuses: the
    # plan fails with the loader's reason (so the job did get that file's path).
    r = _plan(mclient, net_id, "tiny.gguf")
    assert r.status_code == 202, r.text
    plan = wait_plan(mclient, r.json()["id"])
    assert plan["status"] == "failed", plan
    assert "could not load model" in plan["error"] and "tiny.gguf" in plan["error"]
    assert plan["params"]["llm_model"] == "tiny.gguf"
