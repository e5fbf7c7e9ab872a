"""Test helpers for ordering: tokens, valid requests, and reading the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from services.ordering.adapters.wire_events import EVENTS
from services.ordering.domain.subscription import Subscription
from services.ordering.settings import OrderingSettings
from shared.events import Event, EventRegistry
from shared.events.provisioning import (
    ActivationCompleted,
    ActivationCompletedData,
    ActivationLinkIssued,
    ActivationLinkIssuedData,
    CancellationScheduled,
    CancellationScheduledData,
    LicensesAssigned,
    LicensesAssignedData,
    QuantityChangeAccepted,
    QuantityChangeAcceptedData,
    QuantityChangeRejected,
    QuantityChangeRejectedData,
    SubscriptionCancelled,
    SubscriptionCancelledData,
    SubscriptionExpired,
    SubscriptionExpiredData,
    SubscriptionRenewed,
    SubscriptionRenewedData,
    SubscriptionSuspended,
    SubscriptionSuspendedData,
)
from shared.events.topics import SUBSCRIPTIONS_STATE
from shared.http.auth import mint_token
from shared.messaging.consumer import EventConsumer
from shared.store.memory import MemoryStore

NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
SETTINGS = OrderingSettings(csp_jwt_secret="ordering-unit-test-secret-of-at-least-32-bytes")


def auth(
    partner_id: str = "partner-a", roles: list[str] | None = None, sub: str = "alice"
) -> dict[str, str]:
    claims = {"sub": sub, "partnerId": partner_id, "roles": roles or ["GlobalAdmin"]}
    return {"Authorization": f"Bearer {mint_token(SETTINGS.csp_jwt_secret, claims)}"}


def publisher_auth() -> dict[str, str]:
    token = mint_token(SETTINGS.csp_jwt_secret, {"sub": "contoso-app", "publisherId": "contoso"})
    return {"Authorization": f"Bearer {token}"}


def line(**overrides: Any) -> dict[str, Any]:
    """A valid cart line item (Contoso CRM standard, 5 seats, annual) unless overridden."""
    item: dict[str, Any] = {
        "offerId": "contoso-crm",
        "planId": "standard",
        "quantity": 5,
        "termDuration": "P1Y",
        "billingCycle": "annual",
    }
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not ...}  # `...` drops a field


async def new_customer(
    client: httpx.AsyncClient, partner_id: str = "partner-a", name: str = "Acme"
) -> str:
    response = await client.post(
        "/v1/customers", json={"companyName": name}, headers=auth(partner_id)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_cart(
    client: httpx.AsyncClient,
    customer_id: str,
    *items: dict[str, Any],
    partner_id: str = "partner-a",
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/customers/{customer_id}/carts",
        json={"lineItems": list(items) or [line()]},
        headers=auth(partner_id),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def checked_out_order(
    client: httpx.AsyncClient,
    customer_id: str,
    *items: dict[str, Any],
    partner_id: str = "partner-a",
) -> dict[str, Any]:
    cart = await new_cart(client, customer_id, *items, partner_id=partner_id)
    response = await client.post(
        f"/v1/customers/{customer_id}/carts/{cart['id']}/checkout", headers=auth(partner_id)
    )
    assert response.status_code == 201, response.text
    [order] = response.json()["orders"]
    return dict(order)


@dataclass(frozen=True)
class Purchase:
    """One checked-out line: where to find its subscription, and its correlation."""

    customer_id: str
    order_id: str
    subscription_id: str
    correlation_id: str

    @property
    def url(self) -> str:
        return f"/v1/customers/{self.customer_id}/subscriptions/{self.subscription_id}"


async def view(client: httpx.AsyncClient, p: Purchase) -> dict[str, Any]:
    """The subscription as the partner GETs it."""
    response = await client.get(p.url, headers=auth())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def feed(consumer: EventConsumer, *events: Event) -> list[str]:
    """Hand provisioning's events to the view's consumer; the outcome of each."""
    return [await consumer.handle(e.to_bytes()) for e in events]


async def documents(store: MemoryStore, collection: str) -> list[dict[str, Any]]:
    """Every stored document of a collection, as the store holds it."""
    async with store.read_only() as tx:
        return await tx.collection(collection).find()


async def stored(store: MemoryStore, subscription_id: str) -> Subscription | None:
    async with store.read_only() as tx:
        document = await tx.collection(Subscription.COLLECTION).get(subscription_id)
    return None if document is None else Subscription.model_validate(document)


ORDERING_EVENTS = EventRegistry(*EVENTS.publishes)


async def emitted(store: MemoryStore) -> list[Event]:
    """Every event in the outbox, oldest first, as its wire type (SubscriptionPurchased,
    the change requests...), without the subscription's state records. The lease ends at once, so the rows stay claimable for the
    next call."""
    now = datetime.now(UTC) + timedelta(days=36500)  # past any earlier lease
    claimed = await store.claim_outbox("test-reader", 10_000, now, now)
    events = (c.message for c in claimed if c.message.topic != SUBSCRIPTIONS_STATE)
    return [ORDERING_EVENTS.decode(message.payload) for message in events]


# --- provisioning's events, as the subscription view consumes them

LINK = "https://contoso.example/landing?token=abc%2Fdef"


def link_issued(
    subscription_id: str, correlation_id: str, link: str = LINK
) -> ActivationLinkIssued:
    return ActivationLinkIssued(
        source="provisioning",
        time=NOW,
        subject=subscription_id,
        correlation_id=correlation_id,
        data=ActivationLinkIssuedData(
            subscription_id=subscription_id, link=link, token_expires_at=NOW + timedelta(days=7)
        ),
    )


def licenses_assigned(
    subscription_id: str, correlation_id: str, count: int, quantity: int = 5
) -> LicensesAssigned:
    return LicensesAssigned(
        source="provisioning",
        time=NOW,
        subject=subscription_id,
        correlation_id=correlation_id,
        data=LicensesAssignedData(
            subscription_id=subscription_id, assigned_count=count, quantity=quantity
        ),
    )


TERM_START = NOW + timedelta(days=2)
TERM_END = datetime(2031, 2, 2, 12, 0, tzinfo=UTC)  # start + P1Y, exclusive
COMMITMENT_END_DATE = "2031-02-01"  # the term's last day, as the partner sees it


def activation_completed(
    subscription_id: str, correlation_id: str, licenses: int = 3
) -> ActivationCompleted:
    return ActivationCompleted(
        source="provisioning",
        time=TERM_START,
        subject=subscription_id,
        correlation_id=correlation_id,
        data=ActivationCompletedData(
            subscription_id=subscription_id,
            csp_partner_id="partner-a",
            customer_id="c",
            publisher_id="contoso",
            offer_id="contoso-crm",
            offer_name="Contoso CRM",
            plan_id="standard",
            quantity=5,
            licenses_assigned=licenses,
            term_duration="P1Y",
            billing_cycle="annual",
            currency="USD",
            price_per_seat=Decimal("100.00"),
            auto_renew_enabled=True,
            term_start=TERM_START,
            term_end=TERM_END,
        ),
    )


# --- provisioning's facts after activation (docs/subscription-lifecycle.md, "Events")


E = TypeVar("E", bound=Event)


def _fact(kind: type[E], data: Any, correlation_id: str, at: datetime = NOW) -> E:
    return kind(
        source="provisioning",
        time=at,
        subject=data.subscription_id,
        correlation_id=correlation_id,
        data=data,
    )


def quantity_accepted(
    sid: str, corr: str, operation_id: str, quantity: int, previous: int = 5
) -> QuantityChangeAccepted:
    data = QuantityChangeAcceptedData(
        subscription_id=sid,
        operation_id=operation_id,
        quantity=quantity,
        previous_quantity=previous,
        accepted_at=NOW,
        accepted_by="publisher",
    )
    return _fact(QuantityChangeAccepted, data, corr)


def quantity_rejected(
    sid: str, corr: str, operation_id: str, quantity: int, reason: str = "no seats left"
) -> QuantityChangeRejected:
    data = QuantityChangeRejectedData(
        subscription_id=sid,
        operation_id=operation_id,
        quantity=quantity,
        current_quantity=5,
        rejected_at=NOW,
        reason=reason,
    )
    return _fact(QuantityChangeRejected, data, corr)


def renewed(sid: str, corr: str, term_start: datetime, term_end: datetime) -> SubscriptionRenewed:
    data = SubscriptionRenewedData(
        subscription_id=sid,
        operation_id=f"renew-{sid}-{term_start.isoformat()}",
        term_start=term_start,
        term_end=term_end,
        quantity=5,
    )
    return _fact(SubscriptionRenewed, data, corr)


def expired(sid: str, corr: str, at: datetime = TERM_END) -> SubscriptionExpired:
    data = SubscriptionExpiredData(subscription_id=sid, operation_id=f"end-{sid}", ended_at=at)
    return _fact(SubscriptionExpired, data, corr)


def cancelled(sid: str, corr: str, operation_id: str = "op-cancel") -> SubscriptionCancelled:
    data = SubscriptionCancelledData(
        subscription_id=sid, operation_id=operation_id, cancelled_at=NOW
    )
    return _fact(SubscriptionCancelled, data, corr)


def cancellation_scheduled(
    sid: str, corr: str, operation_id: str = "op-cancel"
) -> CancellationScheduled:
    data = CancellationScheduledData(
        subscription_id=sid, operation_id=operation_id, ends_at=TERM_END
    )
    return _fact(CancellationScheduled, data, corr)


def suspended(sid: str, corr: str, operation_id: str = "op-suspend") -> SubscriptionSuspended:
    data = SubscriptionSuspendedData(
        subscription_id=sid, operation_id=operation_id, suspended_at=NOW
    )
    return _fact(SubscriptionSuspended, data, corr)
