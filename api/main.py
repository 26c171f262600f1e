"""The FastAPI application: ``create_app(settings)``; ``celltwin serve`` runs it with uvicorn.

Start-up (lifespan): create the data directory (mode 0700), upgrade the database with the alembic
migrations, load (or generate) the bearer tokens, mark plans of dead servers
``interrupted``, start the job runner. Shut-down: stop the jobs this process runs and mark
them ``interrupted``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors
from api.audit import code_version
from api.auth import Role, load_tokens
from api.db.migrate import upgrade
from api.db.session import get_engine, session_factory, transaction
from api.jobs import JobRunner, recover_interrupted
from api.limits import BodySizeLimit
from api.network_store import NetworkCache
from api.policy_store import ActivePolicy
from api.routes import (
    actions,
    audit,
    demand,
    exports,
    health,
    intents,
    me,
    models,
    networks,
    plans,
    policies,
    policy_cases,
    raster,
    report,
    scenarios,
    state,
)
from api.settings import Settings, private_dir

API_PREFIX = "/api/v1"
log = logging.getLogger("celltwin.api")


def api_router() -> APIRouter:
    r = APIRouter(prefix=API_PREFIX)
    for module in (health, scenarios, networks, state, plans, policies, exports, demand, me,
                   policy_cases, audit, models, raster, report, actions, intents):
        r.include_router(module.router)
    return r


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (default: from the environment)."""
    s = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        private_dir(s.data_dir)
        engine = get_engine(s.db_url)
        upgrade(engine)
        tokens = load_tokens(s)
        if tokens.generated:
            admin = tokens.token_for(Role.admin)
            print(f"celltwin: generated API tokens in {tokens.source}; admin token: {admin}",
                  flush=True)
        with transaction(engine) as session:
            gone = recover_interrupted(session)
        if gone:
            log.warning("marked %d plan(s) of a stopped server interrupted: %s", len(gone),
                        ", ".join(gone))
        app.state.settings = s
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.tokens = tokens
        app.state.cache = NetworkCache(states=s.state_cache)
        app.state.policy = ActivePolicy()
        app.state.jobs = JobRunner(s)
        try:
            yield
        finally:
            app.state.jobs.shutdown()

    app = FastAPI(
        title="celltwin",
        version=str(code_version()["version"]),
        description="Offline digital twin and capacity planner for LTE/NR networks: networks, "
        "twin states, planning jobs, policy gate, approvals and audit. All routes under "
        f"{API_PREFIX} except docs; every route but /health needs a bearer token.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=s.max_upload_bytes)
    app.include_router(api_router())
    return app
