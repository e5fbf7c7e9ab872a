"""A service restarted as a real process (`python -m services.<name>`) serves HTTP at
once and says on /readyz when it consumes again; SIGTERM stops it within its bound,
exit code 0, after the events in flight were handled and committed and what they wrote
to the outbox was published."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.events.ordering import SubscriptionPurchased
from shared.events.topics import ORDERING_SUBSCRIPTIONS, PROVISIONING_SUBSCRIPTIONS
from shared.http.auth import mint_token
from shared.messaging.embedded_broker import free_port
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import SHUTDOWN_SECONDS
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner
from tests.support.broker import broker_on
from tests.support.service_process import ServiceProcess, get
from tests.support.topics import read_records
from tests.unit.provisioning.support import purchase

pytestmark = pytest.mark.e2e

# The process's own start and teardown around the bounded shutdown (interpreter exit).
EXIT_SLACK_S = 2.0
LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "quantity": 2,
    "termDuration": "P1M",
    "billingCycle": "monthly",
}


@pytest.fixture
def bootstrap() -> Iterator[str]:
    with broker_on(free_port()) as address:
        yield address


def service(name: str, workdir: Path) -> ServiceProcess:
    return ServiceProcess(name, free_port(), workdir, env={"CSP_JWT_SECRET": DEV_JWT_SECRET})


async def test_after_sigkill_http_answers_at_once_and_readyz_says_when_it_consumes(
    bootstrap: str, tmp_path: Path
) -> None:
    ordering = service("ordering", tmp_path)
    ordering.start(bootstrap)
    ordering.wait_ready()
    ordering.kill()  # SIGKILL: its group member stays behind until its session expires

    try:
        launched = ordering.start(bootstrap)
        ordering.wait_for("/healthz", 200, timeout=60)
        serving = time.monotonic() - launched
        not_yet = get(f"{ordering.url}/readyz")
        assert not_yet is not None and not_yet.status_code == 503, not_yet
        assert not_yet.json()["status"] == "starting"

        token = mint_token(DEV_JWT_SECRET, {"sub": "u", "partnerId": "p", "roles": ["GlobalAdmin"]})
        partner = Partner(ordering.url, ordering.url, token)
        try:
            _, order = await partner.buy(LINE)  # store + outbox only: no broker needed
        finally:
            await partner.close()
        still = get(f"{ordering.url}/readyz")
        assert still is not None and still.status_code == 503  # bought before consuming

        ordering.wait_ready()
        ready = time.monotonic() - launched
        assert serving < ready
        sid = order["lineItems"][0]["subscriptionId"]
        [record] = await read_records(
            bootstrap, ORDERING_SUBSCRIPTIONS, at_least=1, where=lambda r: r.key == sid.encode()
        )
        assert SubscriptionPurchased.model_validate_json(record.value).subject == sid
        code, _ = ordering.terminate(timeout=SHUTDOWN_SECONDS + EXIT_SLACK_S)
        assert code == 0
    finally:
        ordering.kill()


async def test_sigterm_finishes_in_flight_events_publishes_their_outbox_and_exits_0(
    bootstrap: str, tmp_path: Path
) -> None:
    provisioning = service("provisioning", tmp_path)
    provisioning.start(bootstrap)
    try:
        provisioning.wait_ready()
        purchases = [purchase() for _ in range(150)]
        producer = make_broker(bootstrap, client_id="test-ordering")
        await producer.start()
        try:
            for event in purchases:
                await producer.publish(
                    event.to_bytes(), topic=ORDERING_SUBSCRIPTIONS, key=event.subject.encode()
                )
        finally:
            await producer.stop()
        await until(lambda: len(provisioning.events("event_handled")) >= 1)

        code, took = provisioning.terminate(timeout=SHUTDOWN_SECONDS + EXIT_SLACK_S + 5)

        assert code == 0, provisioning.tail()
        assert took < SHUTDOWN_SECONDS + EXIT_SLACK_S
        [stopped] = provisioning.events("service_stopped")
        assert stopped["clean"] is True, provisioning.tail()
        assert stopped["outbox_unsent"] == 0
        handled = {e["subscription_id"] for e in provisioning.events("event_handled")}
        assert 1 <= len(handled) <= len(purchases)
        # Every event handled before the exit had its activation link published...
        links = await read_records(
            bootstrap,
            PROVISIONING_SUBSCRIPTIONS,
            at_least=len(handled),
            where=lambda r: b'"ActivationLinkIssued"' in r.value,
        )
        assert {r.key.decode() for r in links if r.key is not None} == handled

        # ... and its offset committed: after a restart the rest are handled, none twice.
        provisioning.start(bootstrap)
        provisioning.wait_ready()
        await until(lambda: len(provisioning.events("event_handled")) >= len(purchases), 120)
        assert provisioning.events("event_duplicate_skipped") == []
        assert len(provisioning.events("event_handled")) == len(purchases)
        code, _ = provisioning.terminate(timeout=SHUTDOWN_SECONDS + EXIT_SLACK_S)
        assert code == 0
    finally:
        provisioning.kill()


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not met in time"
        await asyncio.sleep(0.05)
