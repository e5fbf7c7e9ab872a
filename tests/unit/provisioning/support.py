"""Test helpers for provisioning: purchase events, an app over MemoryStore, outbox reading."""

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
from services.provisioning.settings import ProvisioningSettings
from shared.catalog import load_catalog
from shared.clock import FixedClock
from shared.events.envelope import Event
from shared.events.ordering import SubscriptionPurchased, SubscriptionPurchasedData
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
from shared.events.registry import EventRegistry
from shared.http.auth import mint_token
from shared.store.memory import MemoryStore

T0 = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
API = "?api-version=2018-08-31"
SETTINGS = ProvisioningSettings()
CATALOG = load_catalog()
_REGISTRY = EventRegistry(ActivationLinkIssued, LicensesAssigned, ActivationCompleted)


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
    """Events emitted since the previous drain (claims and marks them sent)."""
    now = datetime.now(UTC)
    token = uuid.uuid4().hex
    claimed = await store.claim_outbox(token, 10_000, now + timedelta(hours=1), now)
    await store.mark_sent(token, [c.seq for c in claimed])
    return [_REGISTRY.decode(c.message.payload) for c in claimed]


@dataclass
class Harness:
    """The real app over a MemoryStore and a FixedClock, lifespan not run (no broker)."""

    store: MemoryStore = field(default_factory=MemoryStore)
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    settings: ProvisioningSettings = field(default_factory=lambda: SETTINGS)

    def __post_init__(self) -> None:
        self.app = build_app(self.settings, store=self.store, clock=self.clock, catalog=CATALOG)
        (self.consumer,) = self.app.state.runtime.consumers
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )

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
