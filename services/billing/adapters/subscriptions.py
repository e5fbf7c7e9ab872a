"""The subscriptions billing has seen, in the "subscriptions" collection."""

from __future__ import annotations

from typing import Any

from services.billing.adapters.codec import dump_time, load_time
from services.billing.domain.subscription import BilledSubscription
from shared.store.port import UnitOfWork

COLLECTION = "subscriptions"


class SubscriptionRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self._docs = uow.collection(COLLECTION)

    async def get(self, subscription_id: str) -> BilledSubscription | None:
        doc = await self._docs.get(subscription_id)
        return None if doc is None else _load(doc)

    async def add(self, subscription: BilledSubscription) -> None:
        """Raises DuplicateKey if billing knows it already."""
        await self._docs.insert(subscription.id, _dump(subscription))


def _dump(s: BilledSubscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "customerId": s.customer_id,
        "cspPartnerId": s.csp_partner_id,
        "publisherId": s.publisher_id,
        "offerId": s.offer_id,
        "offerName": s.offer_name,
        "planId": s.plan_id,
        "currency": s.currency,
        "pricePerSeat": s.price_per_seat,
        "quantity": s.quantity,
        "termDuration": s.term_duration,
        "billingCycle": s.billing_cycle,
        "termStart": dump_time(s.term_start),
        "termEnd": dump_time(s.term_end),
        "autoRenewEnabled": s.auto_renew_enabled,
        "correlationId": s.correlation_id,
    }


def _load(doc: dict[str, Any]) -> BilledSubscription:
    return BilledSubscription(
        id=doc["id"],
        customer_id=doc["customerId"],
        csp_partner_id=doc["cspPartnerId"],
        publisher_id=doc["publisherId"],
        offer_id=doc["offerId"],
        offer_name=doc["offerName"],
        plan_id=doc["planId"],
        currency=doc["currency"],
        price_per_seat=doc["pricePerSeat"],
        quantity=doc["quantity"],
        term_duration=doc["termDuration"],
        billing_cycle=doc["billingCycle"],
        term_start=load_time(doc["termStart"]),
        term_end=load_time(doc["termEnd"]),
        auto_renew_enabled=doc["autoRenewEnabled"],
        correlation_id=doc["correlationId"],
    )
