"""Dependencies of the routes (``Annotated`` aliases): settings, a DB session, the current
user with a minimum role, and the per-process services (network cache, job runner, policy).

Roles are ordered viewer < planner < approver < admin: a route that needs ``planner`` accepts
approvers and admins too. No or an unknown token gives 401, a known token with too low a role
403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.auth import Role, TokenTable, User
from api.errors import ApiError
from api.jobs import JobRunner
from api.network_store import NetworkCache
from api.policy_store import ActivePolicy
from api.settings import Settings

bearer = HTTPBearer(auto_error=False, description="a token from CELLTWIN_TOKENS, "
                    "CELLTWIN_TOKENS_FILE or the generated <data dir>/tokens.txt")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_cache(request: Request) -> NetworkCache:
    return request.app.state.cache  # type: ignore[no-any-return]


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs  # type: ignore[no-any-return]


def get_policy(request: Request) -> ActivePolicy:
    return request.app.state.policy  # type: ignore[no-any-return]


def current_user(request: Request,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> User:
    challenge = {"WWW-Authenticate": "Bearer"}
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>' (see "
                       "CELLTWIN_TOKENS or <data dir>/tokens.txt)", challenge)
    tokens: TokenTable = request.app.state.tokens
    user = tokens.lookup(creds.credentials)
    if user is None:
        raise ApiError(401, "unknown bearer token; use a token from the server's token list",
                       challenge)
    return user


def require(role: Role) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role < role:
            raise ApiError(403, f"this needs the {role.name} role or higher; your token "
                           f"({user.name}) has the {user.role.name} role")
        return user
    check.__name__ = f"require_{role.name}"
    return check


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_db)]
CacheDep = Annotated[NetworkCache, Depends(get_cache)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
PolicyDep = Annotated[ActivePolicy, Depends(get_policy)]
ViewerDep = Annotated[User, Depends(require(Role.viewer))]
PlannerDep = Annotated[User, Depends(require(Role.planner))]
ApproverDep = Annotated[User, Depends(require(Role.approver))]
AdminDep = Annotated[User, Depends(require(Role.admin))]
