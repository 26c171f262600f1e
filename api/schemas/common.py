"""Shared response models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every 4xx answer: what is wrong and what to do."""

    detail: str


class Health(BaseModel):
    status: str
    version: str
    commit: str | None
    database: str
    job_backend: str
    workers: int


class ScenarioPublic(BaseModel):
    name: str
    description: str


class ScenariosPublic(BaseModel):
    items: list[ScenarioPublic]
    count: int


class ModelPublic(BaseModel):
    """An LLM model a plan may name (``llm_model``), without its server path."""

    id: str
    embedded: bool
    size_mb: float | None
    usable: bool
    problem: str | None


class ModelsPublic(BaseModel):
    items: list[ModelPublic]
    count: int


class AuditPublic(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    network_id: str | None
    plan_id: str | None
    details: dict[str, Any]


class AuditsPublic(BaseModel):
    items: list[AuditPublic]
    count: int


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown bearer token"},
    403: {"model": ErrorBody, "description": "the token's role is too low"},
    422: {"model": ErrorBody, "description": "invalid input; the detail says what to fix"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody,
                                                    "description": "unknown id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody,
                                                   "description": "not possible in the "
                                                   "current state"}}
