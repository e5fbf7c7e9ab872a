"""Test helpers for provisioning: purchase and request events, an app over MemoryStore,
outbox reading, a recording webhook sender and the due work at the fixed clock."""

from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from services.provisioning.bootstrap import build_app
from services.provisioning.domain.model import SaasSubscription
from services.provisioning.domain.operations import DeliveryAttempt, Operation
from services.provisioning.service_layer.due_work import WebhookSender
from services.provisioning.settings import ProvisioningSettings
from shared.catalog import Catalog, load_catalog
from shared.clock import FixedClock
from shared.events import provisioning as facts
from shared.events.envelope import Event
from shared.events.ordering import SubscriptionPurchased, SubscriptionPurchasedData
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
from shared.events.registry import EventRegistry
from shared.events.topics import SUBSCRIPTIONS_STATE
from shared.http.auth import mint_token
from shared.store.memory import MemoryStore

T0 = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
API = "?api-version=2018-08-31"
SETTINGS = ProvisioningSettings()
CATALOG = load_catalog()
_REGISTRY = EventRegistry(
    ActivationLinkIssued,
    LicensesAssigned,
    ActivationCompleted,
    facts.QuantityChangeAccepted,
    facts.QuantityChangeRejected,
    facts.SubscriptionSuspended,
    facts.SubscriptionReinstated,
    facts.SubscriptionCancelled,
    facts.CancellationScheduled,
    facts.SubscriptionRenewed,
    facts.SubscriptionExpired,
)
SUBS = "/api/saas/subscriptions"


def purchase(
    *,
    subscription_id: str | None = None,
    publisher_id: str = "contoso",
    offer_id: str = "contoso-crm",
    plan_id: str = "standard",
    quantity: int = 5,
    term_duration: str = "P1M",
    billing_cycle: str = "monthly",
    correlation_id: str | None = None,
    **overrides: Any,
) -> SubscriptionPurchased:
    sid = subscription_id or str(uuid.uuid4())
    data: dict[str, Any] = {
        "subscription_id": sid,
        "order_id": str(uuid.uuid4()),
        "line_item_number": 0,
        "csp_partner_id": "partner-1",
        "customer_id": str(uuid.uuid4()),
        "customer_name": "Adatum",
        "purchased_by": "alice@partner.example",
        "publisher_id": publisher_id,
        "offer_id": offer_id,
        "offer_name": "Contoso CRM",
        "plan_id": plan_id,
        "plan_name": "Standard",
        "quantity": quantity,
        "term_duration": term_duration,
        "billing_cycle": billing_cycle,
        "currency": "USD",
        "price_per_seat": Decimal("10.00"),
        "friendly_name": "Adatum CRM",
        "purchased_at": T0 - timedelta(minutes=5),
        "refundable_until": T0 + timedelta(hours=24),
        **overrides,
    }
    return SubscriptionPurchased(
        source="ordering",
        time=T0,
        subject=sid,
        correlation_id=correlation_id or str(uuid.uuid4()),
        data=SubscriptionPurchasedData(**data),
    )


def request(
    kind: type[Event],
    subscription_id: str,
    *,
    operation_id: str | None = None,
    **fields: Any,
) -> Event:
    """One of the partner's requests (shared/events/ordering.py) for this subscription,
    with a fresh operation id unless given."""
    data_model: Any = kind.model_fields["data"].annotation
    data = data_model(
        subscription_id=subscription_id,
        operation_id=operation_id or str(uuid.uuid4()),
        requested_by="alice",
        requested_at=T0,
        **fields,
    )
    return kind(
        source="ordering",
        time=T0,
        subject=subscription_id,
        correlation_id=str(uuid.uuid4()),
        data=data,
    )


def catalog_with(
    *, webhook_url: str | None = None, acceptance_timeout: str | None = None
) -> Catalog:
    """The default catalog with every publisher's webhook (and every offer's acceptance
    timeout) replaced."""
    document = CATALOG.model_dump(mode="json", by_alias=True)
    for publisher in document["publishers"]:
        publisher["webhookUrl"] = webhook_url or publisher["webhookUrl"]
    for offer in document["offers"]:
        offer["acceptanceTimeout"] = acceptance_timeout or offer["acceptanceTimeout"]
    return Catalog.model_validate(document)


@dataclass
class RecordingWebhooks:
    """A webhook sender that records what it would send and answers as scripted:
    `answers` in turn (the last one repeats), "delivered" when none are left."""

    sent: list[tuple[Operation, SaasSubscription]] = field(default_factory=list)
    answers: list[DeliveryAttempt] = field(default_factory=list)

    async def send(self, operation: Operation, subscription: SaasSubscription) -> DeliveryAttempt:
        self.sent.append((operation, subscription))
        if not self.answers:
            return DeliveryAttempt("delivered", "HTTP 200")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def actions(self) -> list[str]:
        return [operation.action for operation, _ in self.sent]


def publisher_headers(publisher_id: str = "contoso", **extra: str) -> dict[str, str]:
    claims = {"sub": f"{publisher_id}-app", "publisherId": publisher_id}
    token = mint_token(SETTINGS.csp_jwt_secret, claims)
    return {"Authorization": f"Bearer {token}", **extra}


def partner_headers() -> dict[str, str]:
    claims = {"sub": "alice", "partnerId": "partner-1", "roles": ["GlobalAdmin"]}
    return {"Authorization": f"Bearer {mint_token(SETTINGS.csp_jwt_secret, claims)}"}


def token_of(link: str) -> str:
    """The purchase token as a publisher reads it from the link (query-decoded)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]


async def drain(store: MemoryStore) -> list[Event]:
    """Events emitted since the previous drain (claims and marks them sent), without
    the subscription's state records."""
    now = datetime.now(UTC)
    token = uuid.uuid4().hex
    claimed = await store.claim_outbox(token, 10_000, now + timedelta(hours=1), now)
    await store.mark_sent(token, [c.seq for c in claimed])
    events = (c.message for c in claimed if c.message.topic != SUBSCRIPTIONS_STATE)
    return [_REGISTRY.decode(message.payload) for message in events]


@dataclass
class Harness:
    """The real app over a MemoryStore and a FixedClock, lifespan not run (no broker).

    Webhooks go to a RecordingWebhooks unless `webhooks` is None: then the real HTTP
    sender posts them to the catalog's webhookUrl."""

    store: MemoryStore = field(default_factory=MemoryStore)
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    settings: ProvisioningSettings = field(default_factory=lambda: SETTINGS)
    catalog: Catalog = field(default_factory=lambda: CATALOG)
    webhooks: WebhookSender | None = field(default_factory=RecordingWebhooks)

    def __post_init__(self) -> None:
        self.app = build_app(
            self.settings,
            store=self.store,
            clock=self.clock,
            catalog=self.catalog,
            webhooks=self.webhooks,
        )
        (self.consumer,) = self.app.state.runtime.consumers
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )
        self.due_work = {work.__name__: work for work in self.app.state.due_work.work}

    @property
    def recorded(self) -> RecordingWebhooks:
        assert isinstance(self.webhooks, RecordingWebhooks)
        return self.webhooks

    async def deliver(self, event: Event) -> str:
        """Hand one event to the consumer as Kafka would: "handled", "duplicate", ..."""
        return await self.consumer.handle(event.to_bytes())

    async def activated(self, event: SubscriptionPurchased | None = None) -> str:
        """A purchase, licensed and activated over HTTP (term starts now); its events
        drained. Returns the subscription id."""
        event = event or purchase()
        await self.purchased(event)
        sid, headers = event.subject, publisher_headers()
        seats = {"assignments": [{"userId": "u1", "email": "u1@customer.example"}]}
        plan = {"planId": event.data.plan_id, "quantity": event.data.quantity}
        assert (
            await self.client.put(f"{SUBS}/{sid}/licenses{API}", headers=headers, json=seats)
        ).status_code == 200
        assert (
            await self.client.post(f"{SUBS}/{sid}/activate{API}", headers=headers, json=plan)
        ).status_code == 200
        await self.events()
        return sid

    async def due(self, *pieces: str) -> None:
        """Run the due work (these pieces, or all in order) at the clock's time, as the
        runner's pass does: `webhook_deliveries`, `acceptance_timeouts`, `term_ends`."""
        for name in pieces or tuple(self.due_work):
            await self.due_work[name](self.clock.now())

    async def operation(self, operation_id: str) -> Operation | None:
        async with self.store.read_only() as tx:
            document = await tx.collection(Operation.COLLECTION).get(operation_id)
        return None if document is None else Operation.model_validate(document)

    async def operations(self, subscription_id: str) -> list[Operation]:
        """The subscription's operations, oldest first."""
        async with self.store.read_only() as tx:
            found = await tx.collection(Operation.COLLECTION).find(subscription_id=subscription_id)
        return [Operation.model_validate(document) for document in found]

    async def purchased(self, event: SubscriptionPurchased | None = None) -> ActivationLinkIssued:
        """Deliver a purchase; returns the ActivationLinkIssued it caused (outbox drained)."""
        event = event or purchase()
        assert await self.consumer.handle(event.to_bytes()) == "handled"
        (issued,) = [e for e in await drain(self.store) if isinstance(e, ActivationLinkIssued)]
        return issued

    async def events(self) -> list[Event]:
        return await drain(self.store)

    async def stored(self, subscription_id: str) -> SaasSubscription | None:
        """The subscription as the store holds it (its document, read back)."""
        async with self.store.read_only() as tx:
            document = await tx.collection(SaasSubscription.COLLECTION).get(subscription_id)
        return None if document is None else SaasSubscription.model_validate(document)
