"""HTTP side of observability: `/metrics`, and each request's log context and latency.

`RequestObservation` is plain ASGI (no BaseHTTPMiddleware task per request). For each
request it binds, in structlog's contextvars, the request id and the correlation id, so
every log line written while the request is served carries them; measures the latency
by route template and status; writes the `http_request` log line; and answers the
correlation id in `x-correlation-id`. The bindings are undone when the request ends.

The correlation id: one already bound by an outer middleware (provisioning's x-ms-*
echo, which generates one when the caller sent none), else the caller's
`x-ms-correlationid` (a GUID, as the SaaS Fulfillment API types it) or
`x-correlation-id` (a GUID or a short token), else a new one.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import metrics
from shared.observability.outbox import refresh_outbox_gauges

log = structlog.get_logger(__name__)

UNMATCHED = "unmatched"  # the route label of a request no route took (404, 413 ...)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class RequestObservation:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        request_id = _token(headers.get("x-request-id")) or str(uuid.uuid4())
        correlation_id = correlation_of(headers)
        context = {"request_id": request_id, "correlation_id": correlation_id}
        # The 500 handler runs outside this middleware: it reads them from the scope.
        scope.setdefault("state", {})["log_context"] = context
        root_path = scope.get("root_path", "")
        status = 500  # what the server answers if the app raises before responding
        echoed = (b"x-correlation-id", correlation_id.encode())

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**context):
            try:
                await self.app(scope, receive, send_observed)
            finally:
                seconds = time.perf_counter() - started
                method = scope["method"] if scope["method"] in METHODS else "other"
                metrics.http_request(
                    self.service, method, route_template(scope, root_path), status, seconds
                )
                log.info(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(seconds * 1000, 1),
                )


def correlation_of(headers: dict[str, str]) -> str:
    bound = structlog.contextvars.get_contextvars().get("correlation_id")
    if isinstance(bound, str) and bound:
        return bound
    return (
        _guid(headers.get("x-ms-correlationid"))
        or _guid(headers.get("x-correlation-id"))
        or _token(headers.get("x-correlation-id"))
        or str(uuid.uuid4())
    )


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's path template, with a mount's prefix; never the raw path."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    mounted = scope.get("root_path", "")[len(root_path) :]  # a sub-app's mount prefix
    return f"{mounted}{template}"


def install_observability(app: FastAPI, service: str) -> None:
    """`/metrics` (Prometheus text format) and the request observation, on `app`."""
    app.add_middleware(RequestObservation, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        await refresh_outbox_gauges()
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}


def _guid(value: str | None) -> str | None:
    if value is None or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _token(value: str | None) -> str | None:
    return value if value is not None and _TOKEN.fullmatch(value) else None
