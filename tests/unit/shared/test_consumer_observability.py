"""What the consumer tells operations: each delivery's outcome counted per event type,
the handler's latency, and every log line of an event's handling carrying the
envelope's correlation and causation ids (unbound once it is done)."""

from __future__ import annotations

import json
import uuid

import pytest
import structlog
from structlog.testing import capture_logs

from shared.events import LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.stalls import Origin, PartitionStalled
from shared.observability.metrics import REGISTRY
from shared.store.memory import MemoryStore
from tests.support.kernel import Count, TallyUnitOfWork, count, count_from, licenses_assigned
from tests.support.kernel import tally_bus as bus_of

TYPE = "LicensesAssigned"


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        self.sent.append(topic)


@pytest.fixture
def service() -> str:
    """A service of this test only: the registry is the process's."""
    return f"svc{uuid.uuid4().hex[:8]}"


def consumer(service: str, handler=count) -> EventConsumer:
    return EventConsumer(
        name=f"{service}.tallies",
        topic=LicensesAssigned.TOPIC,
        bus=bus_of(MemoryStore(), handlers={Count: handler}),
        commands={LicensesAssigned: count_from},
        dead_letter=DeadLetters(),
        max_attempts=1,
        first_backoff_seconds=0,
    )


def value(name: str, service: str, **labels: str) -> float:
    every = {"service": service, "consumer": f"{service}.tallies", **labels}
    return REGISTRY.get_sample_value(name, every) or 0.0


async def test_handled_and_redelivered_events_count_apart_and_the_handled_one_is_timed(
    service: str,
) -> None:
    tallies = consumer(service)
    raw = licenses_assigned().to_bytes()

    assert await tallies.handle(raw) == "handled"
    assert await tallies.handle(raw) == "duplicate"

    assert tallies.service == service  # from the group name, `<service>.<purpose>`
    assert value("csp_events_consumed_total", service, type=TYPE) == 1
    assert value("csp_events_duplicate_total", service, type=TYPE) == 1
    assert value("csp_event_handler_seconds_count", service, type=TYPE) == 1
    assert value("csp_event_handler_seconds_sum", service, type=TYPE) > 0


async def test_a_type_not_handled_and_an_undecodable_event_count_as_skipped_and_dead_lettered(
    service: str,
) -> None:
    tallies = consumer(service)
    other = licenses_assigned().model_dump(mode="json", by_alias=True) | {
        "type": "ActivationCompleted"
    }

    assert await tallies.handle(b"{not json") == "dead_lettered"
    assert await tallies.handle(json.dumps(other).encode()) == "skipped"

    assert value("csp_events_skipped_total", service, type="ActivationCompleted") == 1
    assert value("csp_events_dead_lettered_total", service, type="other") == 1
    assert value("csp_events_consumed_total", service, type=TYPE) == 0


async def test_a_failing_handler_counts_a_stall_round_and_no_consumed_event(service: str) -> None:
    async def broken(command: Count, uow: TallyUnitOfWork) -> None:
        raise RuntimeError("a bug")

    with pytest.raises(PartitionStalled):
        await consumer(service, broken).handle(licenses_assigned().to_bytes(), origin=Origin(0, 1))

    assert value("csp_event_handler_stalls_total", service, type=TYPE, cause="handler") == 1
    assert value("csp_events_consumed_total", service, type=TYPE) == 0


async def test_every_log_line_of_an_event_carries_its_correlation_and_causation_ids(
    service: str,
) -> None:
    log = structlog.get_logger("handler")

    async def chatty(command: Count, uow: TallyUnitOfWork) -> None:
        log.info("counting")
        await count(command, uow)

    caused = licenses_assigned(correlation_id="purchase-7").model_copy(
        update={"causation_id": "event-6"}
    )
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        await consumer(service, chatty).handle(caused.to_bytes(), origin=Origin(2, 20))
        log.info("after")

    during = [line for line in lines if line["event"] != "after"]
    assert {line["event"] for line in during} >= {"counting", "event_recorded", "event_handled"}
    for line in during:
        assert (line["correlation_id"], line["causation_id"]) == ("purchase-7", "event-6"), line
    [after] = [line for line in lines if line["event"] == "after"]
    assert "correlation_id" not in after and "causation_id" not in after


async def test_an_event_without_a_causation_id_binds_none(service: str) -> None:
    seen: dict[str, object] = {}

    async def look(command: Count, uow: TallyUnitOfWork) -> None:
        seen.update(structlog.contextvars.get_contextvars())

    await consumer(service, look).handle(licenses_assigned().to_bytes())

    assert seen["correlation_id"] == "purchase-1"
    assert "causation_id" not in seen
