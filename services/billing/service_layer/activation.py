"""Billing starts here, and only here: ActivationCompleted charges the first period."""

from __future__ import annotations

import structlog

from services.billing.adapters.subscriptions import SubscriptionRepository
from services.billing.domain.subscription import BilledSubscription, InvalidSubscription
from services.billing.service_layer.invoicing import post_period_and_invoice
from shared.clock import Clock
from shared.events.provisioning import ActivationCompleted
from shared.money import to_minor
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)


def subscription_from_activation(event: ActivationCompleted) -> BilledSubscription:
    """Raises InvalidSubscription when the facts cannot be billed."""
    data = event.data
    try:
        price = to_minor(data.price_per_seat, data.currency)
    except ValueError as error:
        raise InvalidSubscription(str(error)) from error
    return BilledSubscription(
        id=data.subscription_id,
        customer_id=data.customer_id,
        csp_partner_id=data.csp_partner_id,
        publisher_id=data.publisher_id,
        offer_id=data.offer_id,
        offer_name=data.offer_name,
        plan_id=data.plan_id,
        currency=data.currency,
        price_per_seat=price,
        quantity=data.quantity,
        term_duration=data.term_duration,
        billing_cycle=data.billing_cycle,
        term_start=data.term_start,
        term_end=data.term_end,
        auto_renew_enabled=data.auto_renew_enabled,
        correlation_id=event.correlation_id,
    )


async def start_billing(uow: UnitOfWork, event: ActivationCompleted, clock: Clock) -> None:
    """Remember the subscription, charge its first period, invoice it."""
    subscriptions = SubscriptionRepository(uow)
    if await subscriptions.get(event.data.subscription_id) is not None:
        # A subscription activates once; a second ActivationCompleted (another id, so
        # the inbox let it through) must not bill the first period again.
        log.warning(
            "activation_already_billed",
            subscription_id=event.data.subscription_id,
            event_id=str(event.id),
        )
        return
    subscription = subscription_from_activation(event)
    await subscriptions.add(subscription)
    await post_period_and_invoice(
        uow,
        subscription,
        subscription.first_period(),
        line_type="charge",
        cause=event,
        now=clock.now(),
    )
