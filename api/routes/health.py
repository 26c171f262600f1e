"""``GET /health``: liveness, version and configuration (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.audit import code_version
from api.deps import EngineDep, SettingsDep
from api.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(settings: SettingsDep, engine: EngineDep) -> Health:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db = "ok"
    except Exception as exc:  # report, do not fail: health must answer
        db = f"error: {type(exc).__name__}"
    v = code_version()
    return Health(status="ok" if db == "ok" else "degraded", version=str(v["version"]),
                  commit=v["commit"], database=db, job_backend=settings.job_backend,
                  workers=settings.workers)
