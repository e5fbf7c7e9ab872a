"""Publisher use cases of the SaaS Fulfillment API: resolve, read, activate, assign licenses.

Each takes the caller's unit of work (the entrypoint opens and commits it), so a
state change and the events it emits commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.adapters.repository import SubscriptionRepository
from services.provisioning.domain.facts import Fact
from services.provisioning.domain.model import LicenseAssignment, SaasSubscription
from services.provisioning.service_layer.errors import NotYourSubscription, SubscriptionNotFound
from services.provisioning.service_layer.messages import events_for
from shared.clock import Clock
from shared.messaging.outbox import emit
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)


async def load_owned(uow: UnitOfWork, subscription_id: str, publisher_id: str) -> SaasSubscription:
    """The subscription, if it exists (else 404) and is the caller's (else 403)."""
    subscription = await SubscriptionRepository(uow).get(subscription_id)
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    if subscription.publisher_id != publisher_id:
        raise NotYourSubscription(subscription_id)
    return subscription


async def resolve(
    uow: UnitOfWork, token: str, publisher_id: str, *, tokens: PurchaseTokens
) -> SaasSubscription:
    """Raises InvalidPurchaseToken (400), NotYourSubscription (403), SubscriptionNotFound (404)."""
    claims = tokens.verify(token)
    if claims.publisher_id != publisher_id:
        raise NotYourSubscription(claims.subscription_id)
    return await load_owned(uow, claims.subscription_id, publisher_id)


async def list_subscriptions(uow: UnitOfWork, publisher_id: str) -> list[SaasSubscription]:
    return await SubscriptionRepository(uow).for_publisher(publisher_id)


async def activate(
    uow: UnitOfWork,
    subscription_id: str,
    publisher_id: str,
    *,
    plan_id: str,
    quantity: int,
    clock: Clock,
) -> SaasSubscription:
    """Confirm activation; completes it if licenses are already assigned."""
    subscription = await load_owned(uow, subscription_id, publisher_id)
    now = clock.now()
    facts = subscription.confirm_activation(plan_id, quantity, now)
    await _save_and_emit(uow, subscription, facts, now)
    return subscription


async def assign_licenses(
    uow: UnitOfWork,
    subscription_id: str,
    publisher_id: str,
    *,
    assignments: Sequence[LicenseAssignment],
    clock: Clock,
) -> SaasSubscription:
    """Replace the license set; completes activation if it was already confirmed."""
    subscription = await load_owned(uow, subscription_id, publisher_id)
    now = clock.now()
    facts = subscription.assign_licenses(assignments, now)
    await _save_and_emit(uow, subscription, facts, now)
    return subscription


async def _save_and_emit(
    uow: UnitOfWork, subscription: SaasSubscription, facts: list[Fact], now: datetime
) -> None:
    # Saved even without facts: confirming activation before licenses changes state silently.
    await SubscriptionRepository(uow).save(subscription)
    # Caused by an HTTP call, not an event: no causation id (brief), purchase's correlation id.
    for event in events_for(subscription, facts, now, causation_id=None):
        emit(uow, event)
        log.info(
            "event_emitted",
            type=event.type,
            subscription_id=subscription.id,
            event_id=str(event.id),
            correlation_id=event.correlation_id,
        )
