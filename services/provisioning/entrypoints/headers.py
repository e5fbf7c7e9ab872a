"""Cross-cutting rules of every /api call: api-version and the x-ms-* tracking headers."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import structlog
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class TrackingHeaders:
    """Echo (or generate) x-ms-requestid / x-ms-correlationid on every /api response.

    A middleware rather than a dependency so error answers (401, 404, validation
    400s, even an unexpected 500) carry them too. Plain ASGI: BaseHTTPMiddleware would
    run each request in a task of its own, with streams between (a measurable share
    of the publisher API's CPU under load)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        asked = Headers(scope=scope)
        values = {name: _guid_or_new(asked.get(name)) for name in TRACKING_HEADERS}
        ours = [(name.encode(), value.encode()) for name, value in values.items()]
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                kept = [h for h in message.get("headers", []) if h[0].lower() not in _OURS]
                message = {**message, "headers": [*kept, *ours]}
            await send(message)

        structlog.contextvars.bind_contextvars(correlation_id=values["x-ms-correlationid"])
        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:  # the app's own 500 handler sits outside this middleware
            if started:
                raise  # the answer is on its way: nothing else can be said
            log.exception("unhandled_error", error=repr(error))
            answer = JSONResponse(error_body("InternalError", "internal error"), 500)
            await answer(scope, receive, send_tracked)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")


_OURS = {name.encode() for name in TRACKING_HEADERS}


def install_tracking_headers(app: FastAPI) -> None:
    app.add_middleware(TrackingHeaders)
