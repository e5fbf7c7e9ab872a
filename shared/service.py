"""Assemble one service from its definition: the shape every bootstrap.py shares.

A service says what it is (`ServiceDefinition`: its unit of work, event mapping,
handlers and their dependencies, consumers, routers); this builds the message bus
every route and consumer goes through, plugs in the test clock when enabled, and
wraps it all in the runtime (store, broker, relay) and the HTTP app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI

from shared.clock import Clock
from shared.domain.aggregate import Aggregate
from shared.due_work import DueWork, DueWorkRunner
from shared.http.app import create_service_app
from shared.http.auth import Authenticator, verifier_for
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.kafka import make_broker
from shared.messaging.mapping import EventMapping
from shared.messaging.runtime import HANDLER_GRACE_SECONDS, ServiceRuntime
from shared.messaging.topic_admin import TopicAdmin
from shared.service_layer.due_times import stamp_due_times
from shared.service_layer.messagebus import Handler, MessageBus
from shared.service_layer.unit_of_work import Cause, UnitOfWork
from shared.settings import ServiceSettings
from shared.store.factory import make_store
from shared.store.port import Store
from shared.testclock import TestClock


@dataclass
class ServiceDefinition:
    name: str
    title: str
    unit_of_work: type[UnitOfWork]  # the service's subclass, naming its repositories
    events: EventMapping  # its domain events -> wire events
    handlers: Mapping[type, Handler]  # command / query type -> use case
    summary: str = ""  # what it consumes and publishes: the AsyncAPI description
    consumers: Sequence[ConsumerGroup] = ()
    routers: Callable[[MessageBus, Authenticator], Sequence[APIRouter]] = lambda bus, auth: ()
    advances_test_clock: bool = False  # only ordering announces new offsets
    # What falls due with business time, given the bus and the service's dependencies.
    due_work: Callable[[MessageBus, Mapping[str, Any]], Sequence[DueWork]] = lambda bus, deps: ()
    # The aggregates whose documents carry due times (`Aggregate.due_times`).
    due_models: Sequence[type[Aggregate]] = ()
    install: Callable[[FastAPI], None] = lambda app: None  # service-specific middleware


def build_bus(
    definition: ServiceDefinition,
    store: Store,
    clock: Clock,
    dependencies: Mapping[str, Any] | None = None,
    *,
    test_clock: TestClock | None = None,
) -> MessageBus:
    events, handlers = definition.events, dict(definition.handlers)
    if test_clock is not None:
        events = events.merged(test_clock.events)
        handlers.update(test_clock.handlers)

    def unit_of_work(*, cause: Cause | None, read_only: bool) -> UnitOfWork:
        return definition.unit_of_work(
            store, events=events, clock=clock, cause=cause, read_only=read_only
        )

    return MessageBus(
        unit_of_work=unit_of_work,
        handlers=handlers,
        dependencies={"clock": clock, **(dependencies or {})},
    )


def assemble_service(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    **dependencies: Any,
) -> FastAPI:
    """`dependencies` (catalog, token signer) are bound to the handlers by name."""
    clock = clock if clock is not None else Clock()
    store = store if store is not None else make_store(settings, clock)
    auth = Authenticator(verifier_for(settings))
    test_clock = None
    if settings.csp_test_clock:
        test_clock = TestClock(definition.name, clock, can_advance=definition.advances_test_clock)
    bus = build_bus(definition, store, clock, dependencies, test_clock=test_clock)
    due_work = DueWorkRunner(
        definition.name,
        clock,
        definition.due_work(bus, dependencies),
        interval=settings.csp_due_work_interval_seconds,
    )
    consumers = [group.consumer(bus) for group in definition.consumers]
    routers = list(definition.routers(bus, auth))
    publishes = definition.events.publishes

    async def stamp_stored_due_times() -> None:
        await stamp_due_times(store, definition.due_models)

    on_start = [stamp_stored_due_times]
    if test_clock is not None:
        test_clock.catch_up = due_work.run_now
        consumers.append(test_clock.consumer(bus))
        routers.append(test_clock.router(bus, auth))
        publishes += test_clock.events.publishes

        async def restore_clock() -> None:
            await test_clock.restore(store)

        on_start.append(restore_clock)
    broker = make_broker(
        settings.kafka_bootstrap_servers,
        client_id=definition.name,
        idempotent_producer=settings.kafka_idempotent_producer,
        graceful_timeout=HANDLER_GRACE_SECONDS,  # in-flight handlers at shutdown
    )
    runtime = ServiceRuntime(
        name=definition.name,
        store=store,
        broker=broker,
        clock=clock,
        consumers=consumers,
        publishes=publishes,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        retention=timedelta(days=settings.csp_retention_days),
        topic_admin=TopicAdmin(
            settings.kafka_bootstrap_servers,
            definition.name,
            replication_factor=settings.csp_topic_replication_factor,
        ),
        partitions=settings.csp_topic_partitions,
    )

    async def start_due_work() -> None:
        due_work.start()

    async def stop_due_work() -> None:
        await due_work.stop(grace=HANDLER_GRACE_SECONDS)

    app = create_service_app(
        runtime=runtime,
        title=definition.title,
        routers=routers,
        on_start=on_start,  # before HTTP serves: the test clock's offset
        on_consuming=[start_due_work],  # due work once the consumers run, as before
        on_stop=[stop_due_work],
        max_body_bytes=settings.csp_max_body_bytes,
    )
    app.state.bus = bus
    app.state.due_work = due_work
    app.state.definition = definition
    definition.install(app)
    return app
