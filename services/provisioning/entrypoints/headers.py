"""Cross-cutting rules of every /api call: api-version and the x-ms-* tracking headers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import structlog
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from shared.http.errors import error_body

log = structlog.get_logger(__name__)

API_PREFIX = "/api"
API_VERSION = "2018-08-31"
TRACKING_HEADERS = ("x-ms-requestid", "x-ms-correlationid")


async def require_api_version(
    api_version: Annotated[
        Literal["2018-08-31"],
        Query(alias="api-version", description="Mandatory; the only version is 2018-08-31."),
    ],
) -> None:
    """Router dependency: the spec makes api-version mandatory with one allowed value.
    Declared, not hand-checked, so the served OpenAPI says so; a missing or other value
    is the shared 400 naming `api-version`."""


def _guid_or_new(value: str | None) -> str:
    """The spec types both headers as GUIDs: a caller's GUID is echoed, anything else
    (absent, or any other text, never echoed at unbounded length) is replaced by a new one."""
    if value is not None and len(value) <= 64:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    return str(uuid.uuid4())


def install_tracking_headers(app: FastAPI) -> None:
    """Echo (or generate) x-ms-requestid / x-ms-correlationid on every /api response.

    A middleware rather than a dependency so error answers (401, 404, validation
    400s, even an unexpected 500) carry them too.
    """

    @app.middleware("http")
    async def tracking(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            return await call_next(request)
        values = {name: _guid_or_new(request.headers.get(name)) for name in TRACKING_HEADERS}
        structlog.contextvars.bind_contextvars(correlation_id=values["x-ms-correlationid"])
        try:
            response = await call_next(request)
        except Exception as error:  # the app's own 500 handler sits outside this middleware
            log.exception("unhandled_error", error=repr(error))
            response = JSONResponse(error_body("InternalError", "internal error"), 500)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
        response.headers.update(values)
        return response
