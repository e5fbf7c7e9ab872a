"""One error shape for every API: `{"error": {"code", "message", "target"?}}`.

The vocabulary (`shared.errors`) is mapped to statuses here and nowhere else.

Bad input is a 4xx naming the offending field in `target`; never a 500.
"""

from __future__ import annotations

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
            path += f".{part}" if path else str(part)
    return path


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, problem: Problem) -> JSONResponse:
        status, code = status_of(problem)
        return JSONResponse(
            error_body(code, problem.message, problem.target),
            status_code=status,
            headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        loc = tuple(first.get("loc", ()))
        if first.get("type") == "json_invalid":
            detail = (first.get("ctx") or {}).get("error", "malformed")
            return JSONResponse(
                error_body("BadRequest", f"request body is not valid JSON: {detail}", "body"),
                status_code=400,
            )
        # A whole-body problem (missing, not an object) has no field: name the body.
        target = field_path(loc) or (str(loc[0]) if loc else "request")
        message = f"{target}: {first.get('msg', 'invalid')}"
        return JSONResponse(error_body("BadRequest", message, target), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status_code, "Error")
        return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=repr(error))
        return JSONResponse(error_body("InternalError", "internal error"), status_code=500)
