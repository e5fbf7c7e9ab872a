"""ActivationCompleted -> subscription, first charge, invoice, two events; nothing else bills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.billing.domain.billing_period import billing_period
from services.billing.domain.ledger import derived_id
from services.billing.domain.subscription import InvalidSubscription
from services.billing.entrypoints.consumers import (
    SUBSCRIPTION_FACTS,
    SUBSCRIPTION_FACTS_GROUP,
    command_for,
)
from services.billing.service_layer.handlers import start_billing
from shared.clock import FixedClock
from shared.events.billing import ChargePosted, InvoiceIssued
from shared.events.provisioning import (
    ActivationCompleted,
    ActivationLinkIssued,
    ActivationLinkIssuedData,
    CancellationScheduled,
    LicensesAssigned,
    LicensesAssignedData,
    QuantityChangeAccepted,
    SubscriptionCancelled,
    SubscriptionExpired,
    SubscriptionReinstated,
    SubscriptionRenewed,
    SubscriptionSuspended,
)
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import EventConsumer
from shared.messaging.stalls import PartitionStalled
from shared.periods import add
from shared.store.memory import MemoryStore
from shared.store.port import DuplicateKey
from tests.unit.billing.builders import (
    NOW,
    TERM_START,
    activation_completed,
    bus_of,
    emitted,
    unit_of_work,
)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def dead_letters() -> list[tuple[str, bytes, dict[str, str]]]:
    return []


@pytest.fixture
def consumer(store: MemoryStore, clock: FixedClock, dead_letters: list) -> EventConsumer:
    async def dead_letter(topic: str, payload: bytes, headers: dict[str, str]) -> None:
        dead_letters.append((topic, payload, headers))

    consumer = SUBSCRIPTION_FACTS.consumer(bus_of(store, clock))
    consumer.bind_dead_letter(dead_letter)
    return consumer


async def ledger_of(store: MemoryStore, subscription_id: str) -> list:
    async with unit_of_work(store) as uow:
        return await uow.ledger.for_subscription(subscription_id)


async def invoices_of(store: MemoryStore, partner_id: str = "partner-a") -> list:
    async with unit_of_work(store) as uow:
        return await uow.invoices.of_partner(partner_id)


def test_the_activation_and_the_facts_after_it_are_consumed_by_one_group(
    consumer: EventConsumer,
) -> None:
    # One group, so the facts are applied in the topic's order, after the activation.
    assert consumer.name == SUBSCRIPTION_FACTS_GROUP == "billing.activations"
    assert consumer.topic == PROVISIONING_SUBSCRIPTIONS
    assert consumer.handled_types == {
        ActivationCompleted,
        QuantityChangeAccepted,
        SubscriptionSuspended,
        SubscriptionReinstated,
        SubscriptionCancelled,
        CancellationScheduled,
        SubscriptionRenewed,
        SubscriptionExpired,
    }


async def test_activation_remembers_subscription_posts_charge_and_issues_invoice(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    event = activation_completed(quantity=5, price_per_seat="10.00")
    sid = event.data.subscription_id

    assert await consumer.handle(event.to_bytes()) == "handled"

    async with unit_of_work(store) as uow:
        sub = await uow.subscriptions.get(sid)
    assert sub is not None
    assert (sub.customer_id, sub.csp_partner_id, sub.quantity, sub.price_per_seat) == (
        "cust-1",
        "partner-a",
        5,
        1000,
    )
    assert (sub.term_start, sub.term_end) == (event.data.term_start, event.data.term_end)
    [line] = await ledger_of(store, sid)
    assert line.id == derived_id(str(event.id), "charge")
    assert (line.type, line.amount, line.currency) == ("charge", 5000, "USD")
    assert (line.period.start, line.period.end) == (TERM_START, event.data.term_end)
    assert (line.event_id, line.posted_at) == (str(event.id), NOW)
    [invoice] = await invoices_of(store)
    assert line.invoice_id == invoice.id
    assert (invoice.number, invoice.kind, invoice.total, invoice.issued_at) == (
        "INV-000001",
        "invoice",
        5000,
        NOW,
    )
    assert invoice.line_items[0].description == (
        "Contoso CRM / standard: 5 seats, 2026-11-22 to 2026-12-21"
    )


async def test_activation_emits_charge_posted_and_invoice_issued_caused_by_it(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    event = activation_completed(currency="JPY", price_per_seat="1200", quantity=10)
    await consumer.handle(event.to_bytes())

    charge, issued = await emitted(store)
    assert isinstance(charge, ChargePosted) and isinstance(issued, InvoiceIssued)
    for out in (charge, issued):
        assert out.source == "billing"
        assert out.subject == event.data.subscription_id
        assert out.causation_id == str(event.id)
        assert out.correlation_id == event.correlation_id
        assert out.time == NOW
    assert str(charge.data.amount) == "12000" and charge.data.currency == "JPY"
    assert charge.data.charge_id == derived_id(str(event.id), "charge")
    assert charge.data.invoice_id == issued.data.invoice_id
    assert (issued.data.number, str(issued.data.total)) == ("INV-000001", "12000")


async def test_the_charged_period_ends_exactly_where_the_next_period_starts(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    event = activation_completed(term_duration="P1Y", billing_cycle="monthly")
    await consumer.handle(event.to_bytes())

    charge, _ = await emitted(store)
    assert isinstance(charge, ChargePosted)
    second = billing_period(charge.data.period_end, "monthly", event.data.term_end)
    assert charge.data.period_start == TERM_START
    assert charge.data.period_end == add(TERM_START, "P1M") == second.start  # no gap
    assert second.end == add(TERM_START, "P2M")


async def test_invoice_numbers_are_sequential_across_subscriptions(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    for n in range(3):
        await consumer.handle(activation_completed(customer_id=f"cust-{n}").to_bytes())
    numbers = sorted(d.number for d in await invoices_of(store))
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


async def test_rolled_back_unit_of_work_gives_its_invoice_number_back(
    store: MemoryStore, clock: FixedClock, consumer: EventConsumer
) -> None:
    abandoned = activation_completed()
    async with unit_of_work(store, clock) as uow:
        await start_billing(command_for(abandoned), uow, clock)
        # no commit: leaving the block rolls back

    assert await ledger_of(store, abandoned.data.subscription_id) == []
    assert await emitted(store) == []
    await consumer.handle(activation_completed().to_bytes())
    [invoice] = await invoices_of(store)
    assert invoice.number == "INV-000001"


async def test_an_activation_no_command_can_be_made_of_is_dead_lettered_at_once(
    store: MemoryStore, consumer: EventConsumer, dead_letters: list
) -> None:
    # JPY has no minor digits: no StartBilling can be made of this price, ever.
    bad = activation_completed(currency="JPY", price_per_seat="1200.50")
    assert await consumer.handle(bad.to_bytes()) == "dead_lettered"
    [(topic, _, headers)] = dead_letters
    assert topic == "provisioning.subscriptions.dlq"
    assert headers["x-dlq-error"].startswith("ValueError:")
    assert await invoices_of(store) == []

    await consumer.handle(activation_completed().to_bytes())
    assert [d.number for d in await invoices_of(store)] == ["INV-000001"]


async def test_an_activation_the_handler_refuses_stops_its_partition_and_charges_nothing(
    store: MemoryStore, consumer: EventConsumer, dead_letters: list
) -> None:
    """A valid event whose facts billing refuses (no seats) is not thrown away: its
    partition waits on it until a fix makes it billable, and nothing is half-posted."""
    bad = activation_completed(quantity=0)
    with pytest.raises(PartitionStalled) as stalled:
        await consumer.handle(bad.to_bytes())
    assert isinstance(stalled.value.error, InvalidSubscription)
    [stall] = consumer.stalled.values()
    assert stall.last_error.startswith("InvalidSubscription:")
    assert dead_letters == []
    assert await invoices_of(store) == []
    async with unit_of_work(store) as uow:
        assert await uow.subscriptions.get(bad.data.subscription_id) is None

    # The next event of the partition, once handled, clears the stall: no gap in numbers.
    assert await consumer.handle(activation_completed().to_bytes()) == "handled"
    assert consumer.stalled == {}
    assert [d.number for d in await invoices_of(store)] == ["INV-000001"]


async def test_redelivered_activation_posts_nothing_more(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    event = activation_completed()
    assert await consumer.handle(event.to_bytes()) == "handled"
    assert await consumer.handle(event.to_bytes()) == "duplicate"

    assert len(await ledger_of(store, event.data.subscription_id)) == 1
    assert len(await invoices_of(store)) == 1
    assert len(await emitted(store)) == 2


async def test_second_activation_of_a_billed_subscription_posts_nothing(
    store: MemoryStore, clock: FixedClock, consumer: EventConsumer
) -> None:
    first = activation_completed()
    again = activation_completed(subscription_id=first.data.subscription_id)  # a new event id
    await consumer.handle(first.to_bytes())
    async with unit_of_work(store, clock) as uow:  # straight to the use case: no inbox
        await start_billing(command_for(first), uow, clock)
        await start_billing(command_for(again), uow, clock)
        await uow.commit()
    assert len(await ledger_of(store, first.data.subscription_id)) == 1
    assert len(await emitted(store)) == 2


async def test_ledger_line_cannot_be_posted_twice(store: MemoryStore) -> None:
    [line] = await _billed_line(store)
    async with unit_of_work(store) as uow:
        with pytest.raises(DuplicateKey):
            await uow.ledger.add(line)


async def _billed_line(store: MemoryStore) -> list:
    event = activation_completed()
    await bus_of(store).handle(command_for(event))  # no inbox: the derived id guards
    return await ledger_of(store, event.data.subscription_id)


async def test_other_provisioning_events_post_nothing(
    store: MemoryStore, consumer: EventConsumer
) -> None:
    sid = "sub-not-active"
    common = dict(source="provisioning", time=NOW, subject=sid, correlation_id="p-1")
    licenses = LicensesAssigned(
        **common, data=LicensesAssignedData(subscription_id=sid, assigned_count=3, quantity=5)
    )
    link = ActivationLinkIssued(
        **common,
        data=ActivationLinkIssuedData(
            subscription_id=sid,
            link="https://contoso.example/landing?token=t",
            token_expires_at=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=7),
        ),
    )
    assert await consumer.handle(licenses.to_bytes()) == "skipped"
    assert await consumer.handle(link.to_bytes()) == "skipped"

    assert await ledger_of(store, sid) == []
    assert await invoices_of(store) == []
    assert await emitted(store) == []
    assert await store.pending_outbox() == 0
