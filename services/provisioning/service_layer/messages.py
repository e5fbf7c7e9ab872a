"""Turn domain facts into the wire events of shared/events/provisioning.py."""

from __future__ import annotations

from datetime import datetime

from services.provisioning.domain.facts import ActivationDone, Fact, LicensesChanged
from services.provisioning.domain.model import SaasSubscription
from shared.events.envelope import Event
from shared.events.provisioning import (
    ActivationCompleted,
    ActivationCompletedData,
    LicensesAssigned,
    LicensesAssignedData,
)
from shared.money import from_minor

SOURCE = "provisioning"


def events_for(
    subscription: SaasSubscription, facts: list[Fact], now: datetime, causation_id: str | None
) -> list[Event]:
    return [_event(subscription, fact, now, causation_id) for fact in facts]


def _event(sub: SaasSubscription, fact: Fact, now: datetime, causation_id: str | None) -> Event:
    envelope = {
        "source": SOURCE,
        "time": now,
        "subject": sub.id,
        "correlation_id": sub.correlation_id,
        "causation_id": causation_id,
    }
    if isinstance(fact, LicensesChanged):
        return LicensesAssigned(
            **envelope,
            data=LicensesAssignedData(
                subscription_id=sub.id,
                assigned_count=fact.assigned_count,
                quantity=fact.quantity,
            ),
        )
    if isinstance(fact, ActivationDone):
        return ActivationCompleted(**envelope, data=_completed(sub, fact))
    raise TypeError(f"no event for fact {fact!r}")


def _completed(sub: SaasSubscription, fact: ActivationDone) -> ActivationCompletedData:
    return ActivationCompletedData(
        subscription_id=sub.id,
        csp_partner_id=sub.csp_partner_id,
        customer_id=sub.customer_id,
        publisher_id=sub.publisher_id,
        offer_id=sub.offer_id,
        offer_name=sub.offer_name,
        plan_id=sub.plan_id,
        quantity=sub.quantity,
        licenses_assigned=fact.licenses_assigned,
        term_duration=sub.term_duration,
        billing_cycle=sub.billing_cycle,
        currency=sub.currency,
        price_per_seat=from_minor(sub.price_per_seat_minor, sub.currency),
        auto_renew_enabled=sub.auto_renew,
        term_start=fact.term_start,
        term_end=fact.term_end,
    )
