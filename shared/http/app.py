"""The FastAPI app every service runs: lifespan around the runtime, health, errors, logs.

The lifespan opens the store and lets HTTP serve at once; the broker, the consumers, the
outbox relay and due work come up in the background (`ServiceRuntime`). `GET /healthz`
is liveness (200 while the process serves); `GET /readyz` is readiness (200 once it is
consuming, 503 with what it waits for before, and while shutting down); `GET /metrics`
is the Prometheus text format (docs/observability.md).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from types import FrameType

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from shared.http.errors import install_error_handlers
from shared.http.limits import DEFAULT_MAX_BODY_BYTES, install_request_limits
from shared.messaging.runtime import HTTP_GRACE_SECONDS, ServiceRuntime
from shared.observability.http import install_observability

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


def create_service_app(
    *,
    runtime: ServiceRuntime,
    title: str,
    routers: Iterable[APIRouter],
    on_start: Iterable[Hook] = (),
    on_consuming: Iterable[Hook] = (),
    on_stop: Iterable[Hook] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """`on_start` runs once the store is open, before HTTP serves; `on_consuming` once
    the consumers run (in the background); `on_stop` while the consumers stop."""
    starts, consuming, stops = list(on_start), list(on_consuming), list(on_stop)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.open()
        for hook in starts:
            await hook()
        log.info("service_serving", service=runtime.name)
        runtime.start_in_background(consuming)
        try:
            yield
        finally:
            await runtime.stop(stops)

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)
    install_request_limits(app, max_body_bytes)
    # /metrics; each request's correlation id in its log lines, its latency by route.
    install_observability(app, runtime.name)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness: the process serves."""
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Readiness: consuming (broker connected, every consumer group assigned)."""
        ready, details = runtime.readiness()
        return JSONResponse(details, status_code=200 if ready else 503)

    for router in routers:
        app.include_router(router)
    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run one service in the foreground. SIGINT/SIGTERM stop it: uvicorn stops accepting,
    gives in-flight requests HTTP_GRACE_SECONDS, then the lifespan stops the runtime
    (bounded), and the process exits 0."""
    # uvicorn handles the signal, shuts down, restores the handler it found and raises the
    # signal again: with the default SIGTERM handler that would kill the process (143)
    # after a clean stop. This one exits 0 instead (and before uvicorn runs, it just exits).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="uvloop",  # uvloop and httptools: the fast loop and parser (benchmarks/README.md)
        http="httptools",
        timeout_graceful_shutdown=HTTP_GRACE_SECONDS,
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
