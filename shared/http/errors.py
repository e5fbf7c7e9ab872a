"""One error shape for every API: `{"error": {"code", "message", "target"?}}`.

The vocabulary (`shared.errors`) is mapped to statuses here and nowhere else.

Bad input is a 4xx naming the offending field in `target`; never a 500. An answer never
echoes unbounded input: a value is quoted by its first `QUOTED_CHARS` characters at most
(`clip`), a field name from the request (an unknown key) likewise, and a message as a
whole is cut at `MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    RuleBroken,
    Unauthorized,
    Unavailable,
)

log = structlog.get_logger(__name__)

QUOTED_CHARS = 50  # of a bad value or a caller's field name, in a message or target
MAX_MESSAGE_CHARS = 300  # no message is longer, whatever a Problem was given


# The one place a Problem becomes an HTTP status.
STATUS: dict[type[Problem], tuple[int, str]] = {
    RuleBroken: (400, "BadRequest"),
    Unauthorized: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "NotFound"),
    Conflict: (409, "Conflict"),
    Unavailable: (503, "ServiceUnavailable"),
}


def status_of(problem: Problem) -> tuple[int, str]:
    for kind in type(problem).__mro__:
        if kind in STATUS:
            return STATUS[kind]  # type: ignore[index]
    return 400, "BadRequest"


def clip(text: str, limit: int = QUOTED_CHARS) -> str:
    """`text`, or its first `limit` characters and an ellipsis: how a message quotes input."""
    return text if len(text) <= limit else text[:limit] + "…"


def error_body(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target:
        error["target"] = target
    return {"error": error}


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'lineItems', 0, 'quantity') -> 'lineItems[0].quantity'."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not path:
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = clip(str(part))  # a key the caller sent (unknown field) may be any size
            path += f".{name}" if path else name
    return path


def validation_message(target: str, error: Mapping[str, Any]) -> str:
    """One pydantic error as the caller reads it, never quoting the value itself."""
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind == "string_too_long":
        return f"{target}: must be at most {ctx.get('max_length')} characters"
    if kind in ("uuid_parsing", "uuid_type", "uuid_version"):
        return f"{target}: must be a GUID (8-4-4-4-12 hex digits)"
    return clip(f"{target}: {error.get('msg', 'invalid')}", MAX_MESSAGE_CHARS)


HTTP_CODES = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, problem: Problem) -> JSONResponse:
        status, code = status_of(problem)
        target = clip(problem.target, 100) if problem.target else None
        return JSONResponse(
            error_body(code, clip(problem.message, MAX_MESSAGE_CHARS), target),
            status_code=status,
            headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        loc = tuple(first.get("loc", ()))
        if first.get("type") == "json_invalid":
            detail = clip(str((first.get("ctx") or {}).get("error", "malformed")), 100)
            return JSONResponse(
                error_body("BadRequest", f"request body is not valid JSON: {detail}", "body"),
                status_code=400,
            )
        # A whole-body problem (missing, not an object) has no field: name the body.
        target = field_path(loc) or (str(loc[0]) if loc else "request")
        message = validation_message(target, first)
        return JSONResponse(error_body("BadRequest", message, target), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, "Error")
        message = clip(str(error.detail), MAX_MESSAGE_CHARS)
        # FastAPI's only 400 of its own: a body it could not parse (e.g. a number too big)
        target = "body" if error.status_code == 400 else None
        return JSONResponse(
            error_body(code, message, target), status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Runs outside the request's middleware: its log context comes from the scope.
        log.exception(
            "unhandled_error", error=repr(error), **getattr(request.state, "log_context", {})
        )
        return JSONResponse(error_body("InternalError", "internal error"), status_code=500)
