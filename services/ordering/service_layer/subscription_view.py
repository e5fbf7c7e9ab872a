"""The partner's view follows provisioning's facts about each subscription.

Handlers run inside the EventConsumer's unit of work (inbox + state together).
An event for a subscription ordering never sold (another environment, a replay
of a foreign topic) is logged and ignored: it is not a poison message.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from services.ordering.adapters.repositories import SubscriptionRepository
from services.ordering.domain.subscription import Subscription
from shared.events.envelope import Event
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)


async def _update(
    uow: UnitOfWork,
    event: Event,
    subscription_id: str,
    change: Callable[[Subscription], Subscription],
) -> None:
    repository = SubscriptionRepository(uow)
    subscription = await repository.get(subscription_id)
    if subscription is None:
        log.warning(
            "subscription_event_for_unknown_subscription",
            event_type=event.type,
            event_id=str(event.id),
            subscription_id=subscription_id,
        )
        return
    updated = change(subscription)
    if updated != subscription:
        await repository.save(updated)
    log.info(
        "subscription_view_updated",
        event_type=event.type,
        subscription_id=subscription_id,
        status=updated.status,
        correlation_id=event.correlation_id,
    )


async def on_activation_link_issued(event: ActivationLinkIssued, uow: UnitOfWork) -> None:
    await _update(
        uow, event, event.data.subscription_id, lambda s: s.with_activation_link(event.data.link)
    )


async def on_licenses_assigned(event: LicensesAssigned, uow: UnitOfWork) -> None:
    await _update(
        uow,
        event,
        event.data.subscription_id,
        lambda s: s.with_licenses_assigned(event.data.assigned_count),
    )


async def on_activation_completed(event: ActivationCompleted, uow: UnitOfWork) -> None:
    data = event.data
    await _update(
        uow,
        event,
        data.subscription_id,
        lambda s: s.activated(data.term_start, data.term_end, data.licenses_assigned),
    )
