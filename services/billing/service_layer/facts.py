"""Billing follows provisioning's facts about a subscription after its activation.

Each is priced by the instant it carries (`acceptedAt`, `reinstatedAt`, ...), never by
when billing read it, so a replay prices the same. Each applies once per provisioning
operation (`BilledSubscription.apply_once`): the same fact again, under the same or a
new event id, changes nothing; the store's unique index on ledger lines backs that up.
A fact for a subscription billing never saw, or one its status makes meaningless
(a suspension of an ended subscription), is logged and skipped: never an error, so the
consumer moves on and a replay decides the same.
"""

from __future__ import annotations

import structlog

from services.billing.domain.billing_period import Period
from services.billing.domain.commands import (
    ApplyQuantityChange,
    CancelBilling,
    EndBilling,
    FollowFact,
    RecordScheduledCancellation,
    ReinstateBilling,
    RenewTerm,
    SuspendBilling,
)
from services.billing.domain.ledger import cancellation_credits
from services.billing.domain.proration import prorate
from services.billing.domain.subscription import BilledSubscription, Status
from services.billing.service_layer.posting import (
    charge_due_periods,
    post_credit_note,
    post_line,
)
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.clock import Clock

log = structlog.get_logger(__name__)


async def _following(
    uow: BillingUnitOfWork, fact: FollowFact, *, allowed: tuple[Status, ...]
) -> BilledSubscription | None:
    """The subscription the fact is about, if billing knows it, has not applied this
    operation yet and is in a status the fact applies to; else None, logged."""
    subscription = await uow.subscriptions.get(fact.subscription_id)
    about = {
        "subscription_id": fact.subscription_id,
        "fact": type(fact).__name__,
        "operation_id": fact.operation_id,
        "event_id": fact.event_id,
    }
    if subscription is None:
        # e.g. a pending subscription cancelled before it was ever activated (billed)
        log.warning("fact_for_unknown_subscription_skipped", **about)
        return None
    if not subscription.apply_once(fact.operation_id):
        log.info("fact_already_applied_skipped", **about)
        return None
    if subscription.status not in allowed:
        log.warning("fact_skipped_in_status", status=subscription.status, **about)
        return None
    return subscription


async def apply_quantity_change(
    command: ApplyQuantityChange, uow: BillingUnitOfWork, clock: Clock
) -> None:
    """New seat count; the period holding `accepted_at`, if charged, gets a proration
    from that instant to its end (an invoice for more seats, a credit note for fewer)."""
    subscription = await _following(uow, command, allowed=("active", "suspended"))
    if subscription is None:
        return
    now, at = clock.now(), command.accepted_at
    await charge_due_periods(uow, subscription, until=at, now=now)  # at the old seats
    if command.previous_quantity != subscription.quantity:
        log.warning(
            "seat_change_from_another_count",
            subscription_id=subscription.id,
            billed_quantity=subscription.quantity,
            previous_quantity=command.previous_quantity,
        )
    seats = command.quantity - subscription.quantity  # against what billing charged
    subscription.change_quantity(command.quantity)
    period = subscription.period_at(at)
    if seats == 0 or period is None or not subscription.is_charged(period):
        return  # nothing charged to adjust: the next charge uses the new count
    await post_line(
        uow,
        subscription,
        line_type="proration",
        period=Period(start=at, end=period.end),
        quantity=seats,
        amount=prorate(seats * subscription.price_per_seat, period, at),
        event_id=command.event_id,
        now=now,
    )


async def suspend_billing(command: SuspendBilling, uow: BillingUnitOfWork, clock: Clock) -> None:
    """Stop charging. The period in progress stays charged (no credit); one that began
    before the suspension but was not charged yet is charged first."""
    subscription = await _following(uow, command, allowed=("active",))
    if subscription is None:
        return
    await charge_due_periods(uow, subscription, until=command.suspended_at, now=clock.now())
    subscription.suspend()


async def reinstate_billing(
    command: ReinstateBilling, uow: BillingUnitOfWork, clock: Clock
) -> None:
    """Charge again: if the period holding `reinstated_at` was not charged, its rest is,
    prorated like a seat change (type "charge"); later periods by the due work."""
    subscription = await _following(uow, command, allowed=("suspended",))
    if subscription is None:
        return
    subscription.reinstate()
    at = command.reinstated_at
    period = subscription.period_at(at)
    if period is None or subscription.is_charged(period):
        return
    await post_line(
        uow,
        subscription,
        line_type="charge",
        period=Period(start=at, end=period.end),
        quantity=subscription.quantity,
        amount=prorate(subscription.period_price(), period, at),
        event_id=command.event_id,
        now=clock.now(),
    )
    subscription.mark_charged(period)


async def cancel_billing(command: CancelBilling, uow: BillingUnitOfWork, clock: Clock) -> None:
    """The end, inside the refund window: ONE credit note reversing every charge of the
    subscription (per period), so its balance is zero; nothing is charged after."""
    subscription = await _following(uow, command, allowed=("active", "suspended"))
    if subscription is None:
        return
    subscription.end()
    lines = await uow.ledger.for_subscription(subscription.id)
    await post_credit_note(
        uow,
        subscription,
        cancellation_credits(lines),
        event_id=command.event_id,
        now=clock.now(),
    )


async def record_scheduled_cancellation(
    command: RecordScheduledCancellation, uow: BillingUnitOfWork
) -> None:
    """Informational: the term runs to its end, which provisioning reports (expiry)."""
    subscription = await _following(uow, command, allowed=("active", "suspended"))
    if subscription is not None:
        subscription.turn_off_auto_renew()


async def renew_term(command: RenewTerm, uow: BillingUnitOfWork, clock: Clock) -> None:
    """A new term: if active, its first period is charged (type "renewal") on a new
    invoice; if suspended nothing is (reinstatement charges the rest of its period)."""
    subscription = await _following(uow, command, allowed=("active", "suspended"))
    if subscription is None:
        return
    now = clock.now()
    # The old term's periods all began before it ended: charge any the due work missed.
    await charge_due_periods(uow, subscription, until=command.term_start, now=now)
    subscription.renew(command.term_start, command.term_end, command.quantity)
    if subscription.status != "active":
        return
    period = subscription.first_period()
    await post_line(
        uow,
        subscription,
        line_type="renewal",
        period=period,
        quantity=subscription.quantity,
        amount=subscription.period_price(),
        event_id=command.event_id,
        now=now,
    )
    subscription.mark_charged(period)


async def end_billing(command: EndBilling, uow: BillingUnitOfWork, clock: Clock) -> None:
    """The term ended without renewal: its periods are all charged, then nothing more."""
    subscription = await _following(uow, command, allowed=("active", "suspended"))
    if subscription is None:
        return
    await charge_due_periods(uow, subscription, until=command.ended_at, now=clock.now())
    subscription.end()
