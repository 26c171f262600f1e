"""``GET /me``: who the bearer token is (name and role), so a client can offer only what the
role allows (the UI shows the approve button to approvers and admins)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ViewerDep
from api.schemas.common import ERRORS

router = APIRouter(tags=["health"], responses=ERRORS)


@router.get("/me")
def whoami(user: ViewerDep) -> dict[str, str]:
    return user.to_json()
