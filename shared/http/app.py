"""The FastAPI app every service runs: lifespan around the runtime, health, errors, logs."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.http.errors import install_error_handlers
from shared.http.limits import install_request_limits
from shared.messaging.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


def create_service_app(
    *,
    runtime: ServiceRuntime,
    title: str,
    routers: Iterable[APIRouter],
    on_start: Iterable[Hook] = (),
    on_stop: Iterable[Hook] = (),
) -> FastAPI:
    starts, stops = list(on_start), list(on_stop)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        for hook in starts:
            await hook()
        try:
            yield
        finally:
            for hook in stops:
                await hook()
            await runtime.stop()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)
    install_request_limits(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        if runtime.ready:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        log.info(
            "http_request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
            request_id=request_id,
        )
        return response

    for router in routers:
        app.include_router(router)
    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run one service in the foreground; SIGINT/SIGTERM stop it cleanly."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
