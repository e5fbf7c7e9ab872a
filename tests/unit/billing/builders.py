"""Test data for billing: ActivationCompleted and the facts after it, its aggregates,
its message bus, outbox reading, and `Billing`: the service minus Kafka and HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.billing.adapters.wire_events import EVENTS
from services.billing.bootstrap import DEFINITION
from services.billing.domain.invoice import Invoice
from services.billing.domain.ledger import LedgerLine, balance
from services.billing.domain.subscription import BilledSubscription
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.clock import Clock, FixedClock
from shared.events.billing import ChargePosted, CreditNoteIssued, InvoiceIssued
from shared.events.envelope import Event
from shared.events.provisioning import ActivationCompleted, ActivationCompletedData
from shared.events.registry import EventRegistry
from shared.periods import add
from shared.service import build_bus
from shared.service_layer import MessageBus
from shared.store.memory import MemoryStore
from shared.store.port import Store

TERM_START = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 9, 31, tzinfo=UTC)
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def activation_completed(
    *,
    subscription_id: str | None = None,
    customer_id: str = "cust-1",
    partner_id: str = "partner-a",
    quantity: int = 5,
    term_duration: str = "P1M",
    billing_cycle: str = "monthly",
    currency: str = "USD",
    price_per_seat: str = "10.00",
    term_start: datetime = TERM_START,
    correlation_id: str | None = None,
) -> ActivationCompleted:
    subscription_id = subscription_id or f"sub-{uuid.uuid4()}"
    return ActivationCompleted(
        source="provisioning",
        time=term_start,
        subject=subscription_id,
        correlation_id=correlation_id or f"purchase-{uuid.uuid4()}",
        causation_id=str(uuid.uuid4()),
        data=ActivationCompletedData(
            subscription_id=subscription_id,
            csp_partner_id=partner_id,
            customer_id=customer_id,
            publisher_id="contoso",
            offer_id="contoso-crm",
            offer_name="Contoso CRM",
            plan_id="standard",
            quantity=quantity,
            licenses_assigned=1,
            term_duration=term_duration,  # type: ignore[arg-type]
            billing_cycle=billing_cycle,  # type: ignore[arg-type]
            currency=currency,
            price_per_seat=Decimal(price_per_seat),
            auto_renew_enabled=True,
            term_start=term_start,
            term_end=add(term_start, term_duration),
        ),
    )


def subscription(**overrides: object) -> BilledSubscription:
    """What billing remembers of a monthly 5-seat USD subscription, as it would store it."""
    fields: dict[str, object] = dict(
        id="sub-1",
        customer_id="cust-1",
        csp_partner_id="partner-a",
        publisher_id="contoso",
        offer_id="contoso-crm",
        offer_name="Contoso CRM",
        plan_id="standard",
        currency="USD",
        price_per_seat=1000,
        quantity=5,
        term_duration="P1M",
        billing_cycle="monthly",
        term_start=TERM_START,
        term_end=add(TERM_START, "P1M"),
        auto_renew_enabled=True,
        correlation_id="purchase-1",
    )
    fields.update(overrides)
    return BilledSubscription(**fields)  # type: ignore[arg-type]


def first_charge(sub: BilledSubscription, event_id: str = "evt-1") -> LedgerLine:
    return LedgerLine.period_charge(
        sub, sub.first_period(), event_id=event_id, posted_at=NOW, invoice_id="inv-1"
    )


_BILLING_EVENTS = EventRegistry(ChargePosted, InvoiceIssued, CreditNoteIssued)


async def emitted(store: Store) -> list[Event]:
    """Every event billing put in the outbox so far (unsent rows; re-readable)."""
    # lease_until == now: the lease is already over, so the next call sees them again.
    claimed = await store.claim_outbox("test-reader", 10_000, _FAR_FUTURE, _FAR_FUTURE)
    return [_BILLING_EVENTS.decode(row.message.payload) for row in claimed]


def bus_of(store: Store, clock: Clock | None = None) -> MessageBus:
    """Billing's message bus as the service builds it, minus Kafka and HTTP."""
    return build_bus(DEFINITION, store, clock or FixedClock(NOW))


def unit_of_work(store: Store, clock: Clock | None = None) -> BillingUnitOfWork:
    """For tests that run a handler by hand or read what was stored."""
    return BillingUnitOfWork(store, events=EVENTS, clock=clock or FixedClock(NOW))


def fact(
    kind: type[Event],
    subscription_id: str,
    *,
    operation_id: str | None = None,
    time: datetime = NOW,
    **data: object,
) -> Event:
    """A provisioning fact (QuantityChangeAccepted, SubscriptionSuspended, ...) about
    `subscription_id`, as provisioning publishes it: a fresh event and operation id
    unless one is given."""
    data_model = kind.model_fields["data"].annotation
    assert data_model is not None
    return kind(
        source="provisioning",
        time=time,
        subject=subscription_id,
        correlation_id="purchase-1",
        data=data_model(
            subscription_id=subscription_id,
            operation_id=operation_id or f"op-{uuid.uuid4()}",
            **data,
        ),
    )


def again(event: Event) -> Event:
    """The same fact under a new event id: the inbox cannot recognise it."""
    return event.model_copy(update={"id": uuid.uuid4()})


class Billing:
    """Billing without Kafka or HTTP: its consumer, its due work, its store, one clock."""

    def __init__(self, at: datetime = NOW) -> None:
        self.store = MemoryStore()
        self.clock = FixedClock(at)
        self.bus = bus_of(self.store, self.clock)
        self.consumer = DEFINITION.consumers[0].consumer(self.bus)
        self.due_work = DEFINITION.due_work(self.bus, {})

    async def receive(self, event: Event) -> str:
        return await self.consumer.handle(event.to_bytes())

    async def activate(self, **fields: object) -> str:
        """Activated at TERM_START (see `activation_completed`); its subscription id."""
        event = activation_completed(**fields)  # type: ignore[arg-type]
        assert await self.receive(event) == "handled"
        return event.data.subscription_id

    def at(self, moment: datetime) -> None:
        self.clock.at = moment

    async def run_due_work(self) -> None:
        for work in self.due_work:
            await work(self.clock.now())

    async def ledger(self, subscription_id: str) -> list[LedgerLine]:
        async with unit_of_work(self.store, self.clock) as uow:
            return await uow.ledger.for_subscription(subscription_id)

    async def documents(self, partner_id: str = "partner-a") -> list[Invoice]:
        async with unit_of_work(self.store, self.clock) as uow:
            return await uow.invoices.of_partner(partner_id)

    async def subscription(self, subscription_id: str) -> BilledSubscription | None:
        async with unit_of_work(self.store, self.clock) as uow:
            return await uow.subscriptions.get(subscription_id)

    async def balance(self, subscription_id: str) -> int:
        return balance(await self.ledger(subscription_id))
