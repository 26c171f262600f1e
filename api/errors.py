"""Exception handlers: every mistake a user can make becomes a 4xx JSON body
``{"detail": "<what is wrong and what to do>"}`` (plus machine-readable extras), never a 500.

| error | status |
|---|---|
| :class:`ApiError` (raised by routes: unknown id, wrong state, oversized body) | its own |
| request validation (pydantic, FastAPI) | 422, ``errors`` lists each field |
| a body that cannot be parsed (JSON not in UTF-8, broken multipart) | 422, not 400 |
| :class:`twin.errors.CelltwinError` (bad table, unknown cell in an action, bad file, ...) | 422 |
| :class:`policies.errors.PolicyError` (a policy file that does not load) | 422, ``issues`` |
| :class:`pydantic.ValidationError` raised inside a route (e.g. an action list) | 422 |

What a body echoes is bounded (:mod:`api.echo`): ``detail`` at 2000 characters, every other
string at 500, ``errors`` at :data:`MAX_ERRORS` entries (``n_errors`` counts them all), other
lists at 100.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.echo import MAX_DETAIL, MAX_FIELD, clip, clip_strings
from twin.errors import CelltwinError

log = logging.getLogger("celltwin.api")

#: Entries of ``errors`` an answer lists at most.
MAX_ERRORS = 50


class ApiError(Exception):
    """An error with an HTTP status and a message that says what to fix."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"no {what} with id {ident!r}; list them with GET /api/v1/{what}s")


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "request"


def describe_pydantic(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """One readable line and a JSON-safe list from pydantic's error list."""
    clean = [{"loc": [clip(str(p), 100) for p in e.get("loc", ())],
              "msg": clip(str(e.get("msg", "")), MAX_FIELD), "type": str(e.get("type", ""))}
             for e in errors[:MAX_ERRORS]]
    parts = [f"{_loc(e['loc'])}: {e['msg']}" for e in clean[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more, clean


def _json(status: int, detail: str, headers: dict[str, str] | None = None,
          **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": clip(detail, MAX_DETAIL), **clip_strings(extra)},
                        status_code=status, headers=headers)


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    detail, clean = describe_pydantic(errors)
    extra: dict[str, Any] = {"errors": clean}
    if len(errors) > len(clean):
        extra["n_errors"] = len(errors)
    return _json(422, detail, **extra)


def _body_unreadable(exc: StarletteHTTPException, detail: str) -> JSONResponse:
    """A body that cannot be parsed at all (JSON that is not UTF-8, broken multipart): a 422
    with ``errors`` like every other invalid request, not the framework's bare 400."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        msg = (f"the body is not UTF-8 ({cause.reason}: byte {cause.object[cause.start]:#04x} "
               f"at position {cause.start}); send JSON encoded as UTF-8")
    else:
        msg = f"the body cannot be parsed ({detail.rstrip('.')}); check its content type"
    return _json(422, f"invalid request: {msg}",
                 errors=[{"loc": ["body"], "msg": msg, "type": "body_unreadable"}])


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status_code, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400:  # only the framework's body parsing raises a bare 400
            return _body_unreadable(exc, detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route; see /docs or /openapi.json for the API"
        elif exc.status_code == 405:
            detail = "method not allowed on this route; see /openapi.json"
        return _json(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(list(exc.errors()))

    @app.exception_handler(PydanticValidationError)
    async def model_invalid(_req: Request, exc: PydanticValidationError) -> JSONResponse:
        return _invalid(list(exc.errors()))

    @app.exception_handler(CelltwinError)
    async def celltwin_error(_req: Request, exc: CelltwinError) -> JSONResponse:
        issues = getattr(exc, "issues", None)
        extra: dict[str, Any] = {"error": type(exc).__name__}
        if issues:
            extra["issues"] = [{"file": i.file, "line": i.line, "message": i.message}
                               for i in issues]
        return _json(422, str(exc), **extra)
