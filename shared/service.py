"""Assemble one service from its parts: the shape every bootstrap.py shares.

A service supplies its consumers, the events it publishes and its routers; this adds
the broker, the runtime, the HTTP app and (with CSP_TEST_CLOCK=true) the test clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from shared.clock import Clock
from shared.events.envelope import Event
from shared.events.testclock import TestClockAdvanced
from shared.http.app import create_service_app
from shared.http.auth import Authenticator
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store.port import Store
from shared.testclock import TestClock


def assemble_service(
    *,
    name: str,
    title: str,
    settings: Settings,
    store: Store,
    clock: Clock,
    auth: Authenticator,
    consumers: Iterable[EventConsumer],
    publishes: Iterable[type[Event]],
    routers: Iterable[APIRouter],
    advances_test_clock: bool = False,
    test_clock: TestClock | None = None,
) -> FastAPI:
    """`test_clock` lets a service register due work; one is made when not given."""
    consumers, publishes, routers = list(consumers), list(publishes), list(routers)
    on_start = []
    if settings.csp_test_clock:
        test_clock = test_clock or TestClock(name, store, clock)
        consumers.append(test_clock.consumer())
        routers.append(test_clock.router(auth, can_advance=advances_test_clock))
        on_start.append(test_clock.restore)
        if advances_test_clock:
            publishes.append(TestClockAdvanced)
    broker = make_broker(
        settings.kafka_bootstrap_servers,
        client_id=name,
        idempotent_producer=settings.kafka_idempotent_producer,
    )
    runtime = ServiceRuntime(
        name=name,
        store=store,
        broker=broker,
        clock=clock,
        consumers=consumers,
        publishes=publishes,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        retention=timedelta(days=settings.csp_retention_days),
    )
    return create_service_app(runtime=runtime, title=title, routers=routers, on_start=on_start)
