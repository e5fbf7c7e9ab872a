"""Shape domain objects and catalog plans as spec responses.

Identities (AadIdentifier): the spec's `tenantId` is a GUID. The beneficiary is the
customer and the purchaser is the CSP partner (buyer of record, as in Partner
Center); each id goes in `tenantId` when it is a GUID, otherwise in `puid` (the
spec's free-form identifier), so no field ever carries a value of the wrong format.

Term dates: the term is [term_start, term_end) with an exclusive end; `term.endDate`
shows its last day, as Microsoft's examples and Partner Center do: term end - 1 day,
at the start's time of day (a term from 2026-11-23T09:30Z has endDate 2026-12-22T09:30Z).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.provisioning.domain.model import SaasSubscription
from services.provisioning.domain.operations import Operation
from services.provisioning.entrypoints.schemas import (
    AadIdentifier,
    Plan,
    PlanComponents,
    RecurrentBillingTerm,
    ResolvedSubscription,
    SaasOperation,
    Subscription,
    SubscriptionTerm,
    WebhookPayload,
)
from shared.catalog import Plan as CatalogPlan
from shared.periods import BILLING_PERIOD

_TERM_WORDS = {"P1M": "1 month", "P1Y": "1 year"}
_CYCLE_WORDS = {"monthly": "monthly", "annual": "annually"}


def identifier(some_id: str) -> AadIdentifier:
    try:
        uuid.UUID(some_id)
    except ValueError:
        return AadIdentifier(puid=some_id)
    return AadIdentifier(tenant_id=some_id)


def last_day_of_term(term_end: datetime | None) -> datetime | None:
    """`term.endDate`: the last day of the term (its exclusive end - 1 day)."""
    return None if term_end is None else term_end - timedelta(days=1)


def subscription_body(sub: SaasSubscription) -> Subscription:
    return Subscription(
        id=sub.id,
        publisher_id=sub.publisher_id,
        offer_id=sub.offer_id,
        name=sub.friendly_name,
        saas_subscription_status=sub.status,
        beneficiary=identifier(sub.customer_id),
        purchaser=identifier(sub.csp_partner_id),
        plan_id=sub.plan_id,
        quantity=sub.quantity,
        term=SubscriptionTerm(
            term_unit=sub.term_duration,
            start_date=sub.term_start,
            end_date=last_day_of_term(sub.term_end),
            charge_duration=BILLING_PERIOD[sub.billing_cycle],
        ),
        auto_renew=sub.auto_renew,
        created=sub.created,
    )


def publisher_state(sub: SaasSubscription) -> dict[str, Any]:
    """The publisher's part of subscriptions.state (shared.events.state): the
    subscription as GET /api/saas/subscriptions/{id} shows it."""
    return subscription_body(sub).model_dump(mode="json", by_alias=True, exclude_none=True)


def resolved(sub: SaasSubscription) -> ResolvedSubscription:
    body = subscription_body(sub)
    summary = body.model_dump(include={"id", "offer_id", "plan_id", "quantity"})
    return ResolvedSubscription(**summary, subscription_name=body.name, subscription=body)


def plan(offered: CatalogPlan) -> Plan:
    """A catalog plan as listAvailablePlans shows it: one billing term per price."""
    terms = [
        RecurrentBillingTerm(
            currency=offered.currency,
            price=price.price_per_seat,
            term_unit=price.term_duration,
            term_description=f"{_TERM_WORDS.get(price.term_duration, price.term_duration)}"
            f" term, billed {_CYCLE_WORDS.get(price.billing_cycle, price.billing_cycle)}",
        )
        for price in offered.prices
    ]
    return Plan(
        plan_id=offered.plan_id,
        display_name=offered.name,
        min_quantity=offered.min_quantity,
        max_quantity=offered.max_quantity,
        plan_components=PlanComponents(recurrent_billing_terms=terms),
    )


def operation_body(operation: Operation) -> SaasOperation:
    fields = operation.model_dump(include=set(SaasOperation.model_fields))
    return SaasOperation(**fields)


def webhook_payload(operation: Operation, subscription: SaasSubscription) -> WebhookPayload:
    """The operation as it stands when sent, with the subscription as it stands then."""
    fields = operation.model_dump(include=set(SaasOperation.model_fields))
    return WebhookPayload(**fields, subscription=subscription_body(subscription))
