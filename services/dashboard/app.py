"""The dashboard's HTTP app: the pages, the JSON behind each view, the live stream.

Not the services' app factory (shared.http.app): that one is built around a store and
an outbox relay, and the dashboard has neither. It shares their error shape, request
limits, `GET /healthz` and `GET /metrics` (shared.observability); `GET /readyz` is 200
once the topics were read to their end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.dashboard.auth import OperatorAuth
from services.dashboard.groups import service_groups
from services.dashboard.kafka import KafkaFeed
from services.dashboard.overview import Feed, lag_of, overview
from services.dashboard.replay import (
    MAX_REPLAY_IDS,
    KafkaPublisher,
    PartlyReplayed,
    Publisher,
    replay,
)
from services.dashboard.settings import DashboardSettings
from services.dashboard.topics import DEAD_LETTER_TOPICS
from services.dashboard.view import PipelineView
from shared.errors import NotFound, RuleBroken
from shared.http.errors import clip, error_body, install_error_handlers
from shared.http.limits import ID_CHARS, install_request_limits, path_id
from shared.observability.http import install_observability

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
# The page loads nothing but its own files; no inline script, no frame around it.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

StuckAfter = Annotated[float | None, Query(alias="stuckAfterSeconds", gt=0, le=10_000_000)]
SubscriptionId = Annotated[str, path_id("subscription", "subscriptionId", guid=False)]
CorrelationId = Annotated[str, path_id("correlation", "correlationId", guid=False)]
DeadLetterId = Annotated[str, StringConstraints(min_length=1, max_length=ID_CHARS * 2 + 24)]


class ReplayRequest(BaseModel):
    """The dead letters to publish back, by the `id` the list gives them."""

    model_config = ConfigDict(extra="forbid")

    ids: list[DeadLetterId] = Field(min_length=1, max_length=MAX_REPLAY_IDS)


def now_ms() -> int:
    return int(time.time() * 1000)


def build_app(
    settings: DashboardSettings,
    *,
    view: PipelineView | None = None,
    feed: Feed | None = None,
    publisher: Publisher | None = None,
    clock: Callable[[], int] = now_ms,
) -> FastAPI:
    """`view`, `feed` and `publisher` for tests; by default the topics of `settings`'
    broker, and a producer to it for replays."""
    view = view if view is not None else PipelineView(limits=settings.limits())
    if feed is None:
        feed = KafkaFeed(
            settings.kafka_bootstrap_servers,
            view,
            service_groups(),
            refresh_seconds=settings.csp_dashboard_refresh_seconds,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        )
    source: Feed = feed
    replays: Publisher = (
        publisher if publisher is not None else KafkaPublisher(settings.kafka_bootstrap_servers)
    )
    refresh = settings.csp_dashboard_refresh_seconds

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await source.start()
        log.info("dashboard_serving", port=settings.port)
        try:
            yield
        finally:
            await source.stop()
            await replays.stop()
            log.info("dashboard_stopped")

    app = FastAPI(title="CSP pipeline dashboard", lifespan=lifespan)
    app.state.view = view
    install_error_handlers(app)
    install_request_limits(app, settings.csp_max_body_bytes)

    def stuck_after(value: float | None) -> float:
        return value if value is not None else settings.csp_dashboard_stuck_seconds

    # -- health --------------------------------------------------------------------------

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        status = source.status()
        ready = bool(status.get("caughtUp"))
        return JSONResponse(
            {"status": "ready" if ready else "starting", **status},
            status_code=200 if ready else 503,
        )

    # -- pages ---------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/subscriptions/{subscription_id}", include_in_schema=False)
    async def subscription_page(subscription_id: SubscriptionId) -> FileResponse:
        return FileResponse(STATIC / "timeline.html")

    @app.get("/correlations/{correlation_id}", include_in_schema=False)
    async def correlation_page(correlation_id: CorrelationId) -> FileResponse:
        return FileResponse(STATIC / "timeline.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- JSON ----------------------------------------------------------------------------

    @app.get("/api/overview")
    async def api_overview(stuck_after_seconds: StuckAfter = None) -> dict[str, Any]:
        """Everything the main page shows (what the live stream sends each second)."""
        return overview(view, source, clock(), stuck_after(stuck_after_seconds))

    @app.get("/api/topics")
    async def api_topics() -> dict[str, Any]:
        """Per topic: events in total, in the last minute, per second, 10 s buckets."""
        return {"topics": view.rates.snapshot(clock())}

    @app.get("/api/lag")
    async def api_lag() -> dict[str, Any]:
        """Per consumer group: high watermark minus committed offset, per partition."""
        return {"groups": lag_of(source)}

    @app.get("/api/funnel")
    async def api_funnel(stuck_after_seconds: StuckAfter = None) -> dict[str, Any]:
        """Subscriptions per stage, and those in a stage longer than stuckAfterSeconds."""
        return view.funnel.snapshot(clock(), stuck_after(stuck_after_seconds))

    def not_held(what: str, subscription_id: str) -> JSONResponse:
        """404 for a subscription not held: unknown, or evicted (said so, with the window)."""
        evicted = view.was_evicted(subscription_id)
        sid = clip(subscription_id)
        if evicted is False:
            raise NotFound(f"no {what} of subscription {sid} seen", "subscriptionId")
        held = view.limits.max_subscriptions
        if evicted:
            message = (
                f"subscription {sid} is older than the dashboard's window and was evicted, "
                f"with its {what}: the dashboard holds the {held} most recently active "
                "subscriptions (CSP_DASHBOARD_MAX_SUBSCRIPTIONS); the topics still have them"
            )
        else:
            message = (
                f"no {what} of subscription {sid} in the dashboard's window (the {held} most "
                "recently active subscriptions): it may be older and evicted"
            )
        return JSONResponse(
            {
                **error_body("NotFound", clip(message, 300), "subscriptionId"),
                "evicted": evicted,
                "window": view.window(),
            },
            status_code=404,
        )

    @app.get("/api/subscriptions/{subscription_id}/timeline", response_model=None)
    async def api_timeline(subscription_id: SubscriptionId) -> dict[str, Any] | JSONResponse:
        """Every event of one subscription on every topic, as they happened. A timeline
        of which older events are no longer held says so (`evicted`, `message`)."""
        events = view.timeline(subscription_id)
        if not events:
            return not_held("events", subscription_id)
        body: dict[str, Any] = {
            "subscriptionId": subscription_id,
            "events": [e.to_wire() for e in events],
        }
        gaps = view.timeline_gaps(subscription_id)
        if gaps is not None:
            dropped = gaps["eventsDropped"]
            body |= {
                "evicted": True,
                **gaps,
                "message": (
                    "older events of this subscription are no longer held: "
                    + (
                        f"{dropped} dropped (at most {view.limits.max_events_per_subscription} "
                        "per subscription, CSP_DASHBOARD_MAX_EVENTS_PER_SUBSCRIPTION)"
                        if dropped
                        else "it was evicted from the dashboard's window before these events"
                    )
                ),
            }
        return body

    @app.get("/api/subscriptions/{subscription_id}/state", response_model=None)
    async def api_state(subscription_id: SubscriptionId) -> dict[str, Any] | JSONResponse:
        """The subscription's latest state per part, from the compacted state topic."""
        parts = view.latest_state(subscription_id)
        if not parts:
            if view.knows_subscription(subscription_id):
                raise NotFound(
                    f"no state of subscription {clip(subscription_id)} seen", "subscriptionId"
                )
            return not_held("state", subscription_id)
        return {"subscriptionId": subscription_id, "parts": parts}

    @app.get("/api/correlations/{correlation_id}/timeline", response_model=None)
    async def api_correlation(correlation_id: CorrelationId) -> dict[str, Any] | JSONResponse:
        """Every event carrying this correlation id (every subscription of one purchase)."""
        events = view.correlation_timeline(correlation_id)
        if not events:
            cid = clip(correlation_id)
            if not view.evicted_subscriptions:
                raise NotFound(f"no events of correlation {cid} seen", "correlationId")
            message = (
                f"no events of correlation {cid} in the dashboard's window (the "
                f"{view.limits.max_subscriptions} most recently active subscriptions): "
                "they may be older and evicted"
            )
            return JSONResponse(
                {
                    **error_body("NotFound", clip(message, 300), "correlationId"),
                    "evicted": None,
                    "window": view.window(),
                },
                status_code=404,
            )
        subscriptions = list(dict.fromkeys(e.subject for e in events))
        body: dict[str, Any] = {
            "correlationId": correlation_id,
            "subscriptionIds": subscriptions,
            "events": [e.to_wire(with_subscription=True) for e in events],
        }
        if any(view.timeline_gaps(s) for s in subscriptions):
            body |= {
                "evicted": True,
                "message": "older events of some of these subscriptions are no longer held",
            }
        return body

    @app.get("/api/dead-letters")
    async def api_dead_letters(
        topic: Annotated[str | None, Query(max_length=ID_CHARS * 2)] = None,
        subscription_id: Annotated[
            str | None, Query(alias="subscriptionId", max_length=ID_CHARS)
        ] = None,
        service: Annotated[str | None, Query(max_length=ID_CHARS)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Dead letters, newest first, with payload and error; `id` names one for replay."""
        if topic is not None and topic not in DEAD_LETTER_TOPICS:
            raise RuleBroken(
                "topic: must be one of " + ", ".join(DEAD_LETTER_TOPICS), target="topic"
            )
        return view.dead_letters(topic=topic, subject=subscription_id, service=service, limit=limit)

    @app.post("/api/dead-letters/replay", response_model=None)
    async def api_replay(request: ReplayRequest) -> dict[str, Any] | JSONResponse:
        """Publish the chosen dead letters back to their original topics (original value,
        key and headers); what went where. All or nothing for unknown ids."""
        try:
            replayed, skipped = await replay(view, replays, request.ids)
        except PartlyReplayed as failure:
            message = clip(f"{failure.message}: {len(failure.replayed)} replayed before it", 300)
            return JSONResponse(
                {**error_body("ServiceUnavailable", message), "replayed": failure.replayed},
                status_code=503,
            )
        return {"replayed": replayed, "skipped": skipped}

    @app.get("/api/stream")
    async def api_stream(request: Request, stuck_after_seconds: StuckAfter = None) -> Any:
        """Server-sent events: `overview` (as GET /api/overview) every refresh interval."""
        threshold = stuck_after(stuck_after_seconds)

        async def events() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"  # the browser reconnects after 2 s if the stream drops
            while not await request.is_disconnected():
                body = json.dumps(overview(view, source, clock(), threshold), separators=(",", ":"))
                yield f"event: overview\ndata: {body}\n\n"
                await asyncio.sleep(refresh)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return _secured(app, settings)


def _secured(app: FastAPI, settings: DashboardSettings) -> FastAPI:
    """Middleware, innermost first: security headers, the operator credential, then
    (outermost) the shared observation: `/metrics` and every request's log line with its
    correlation id, a refused one too. `/metrics` asks for the credential like the rest
    (Prometheus scrapes with basic auth or a bearer token)."""
    app.add_middleware(SecurityHeaders)
    app.add_middleware(OperatorAuth, user=settings.csp_dashboard_user, token=settings.token)
    install_observability(app, settings.SERVICE)
    return app


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
