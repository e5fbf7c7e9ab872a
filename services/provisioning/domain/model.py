"""The SaaS subscription aggregate and its activation state machine.

Activation needs licenses assigned (at least one) and activation confirmed (matching
plan and quantity), in either order, each retryable. Once both hold, and only once, it
becomes `Subscribed`, its term starts and it records ActivationCompleted
(services/provisioning/README.md, "Events").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal

from services.provisioning.domain.commands import ProvisionPurchase
from services.provisioning.domain.events import (
    ActivationCompleted,
    ActivationLinkIssued,
    LicensesAssigned,
)
from services.provisioning.domain.licenses import LicenseAssignment, LicenseSet, license_set
from shared.domain import Aggregate
from shared.errors import Forbidden, RuleBroken
from shared.periods import add

SaasStatus = Literal["PendingFulfillmentStart", "Subscribed", "Suspended", "Unsubscribed"]
LICENSABLE: frozenset[str] = frozenset({"PendingFulfillmentStart", "Subscribed"})
READ_ONLY = (
    "CSP purchases allow only Read (allowedCustomerOperations); changes come from the partner"
)


class NotYourSubscription(Forbidden):
    """Another publisher's subscription (the fulfillment API answers 403, as Microsoft's)."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription {subscription_id} belongs to another publisher")


class SaasSubscription(Aggregate):
    """Everything the purchase told us, plus the publisher-side progress."""

    COLLECTION: ClassVar[str] = "saas_subscriptions"

    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: Literal["P1M", "P1Y"]
    billing_cycle: Literal["monthly", "annual"]
    currency: str
    price_per_seat_minor: int  # minor units of `currency`, per billing period
    friendly_name: str
    csp_partner_id: str
    customer_id: str
    customer_name: str
    purchased_by: str
    order_id: str
    line_item_number: int
    reseller_mpn_id: str | None = None
    auto_renew: bool
    purchased_at: datetime
    refundable_until: datetime
    correlation_id: str  # the purchase's, carried by every event this subscription causes
    created: datetime
    activation_link: str
    token_expires_at: datetime
    status: SaasStatus = "PendingFulfillmentStart"
    activation_confirmed_at: datetime | None = None
    licenses: LicenseSet = ()
    term_start: datetime | None = None
    term_end: datetime | None = None  # exclusive: the term is [term_start, term_end)

    @classmethod
    def purchased(
        cls, purchase: ProvisionPurchase, *, link: str, token_expires_at: datetime, now: datetime
    ) -> SaasSubscription:
        """A new pending subscription with its activation link (ActivationLinkIssued)."""
        facts = dataclasses.asdict(purchase)
        subscription = cls(
            id=facts.pop("subscription_id"),
            **facts,
            created=now,
            activation_link=link,
            token_expires_at=token_expires_at,
        )
        subscription.record(ActivationLinkIssued(subscription.id, link, token_expires_at))
        return subscription

    @property
    def activation_confirmed(self) -> bool:
        return self.activation_confirmed_at is not None

    @property
    def activated(self) -> bool:
        """ActivationCompleted happened (the term has started)."""
        return self.term_start is not None

    def ensure_publisher(self, publisher_id: str) -> None:
        if publisher_id != self.publisher_id:
            raise NotYourSubscription(self.id)

    def change_by_publisher(self) -> None:
        """PATCH / DELETE by the publisher: a CSP purchase changes only through the partner."""
        raise RuleBroken(READ_ONLY)

    def assign_licenses(self, assignments: Sequence[LicenseAssignment], now: datetime) -> None:
        """Replace the whole assignment set; the same set again changes nothing."""
        if self.status not in LICENSABLE:
            raise RuleBroken(
                f"licenses cannot be assigned while the subscription is {self.status}",
                "assignments",
            )
        wanted = license_set(assignments, self.quantity)
        if wanted == self.licenses:
            return
        self.licenses = wanted
        self.record(LicensesAssigned(self.id, len(wanted), self.quantity))
        self._complete_if_ready(now)

    def confirm_activation(self, plan_id: str, quantity: int, now: datetime) -> None:
        """The publisher's `activate` call; a retry while waiting for licenses is a no-op."""
        if self.status == "Subscribed":
            raise RuleBroken("the subscription is already activated")
        if self.status != "PendingFulfillmentStart":
            raise RuleBroken(f"a {self.status} subscription cannot be activated")
        if plan_id != self.plan_id:
            raise RuleBroken(
                f"planId {plan_id!r} does not match the purchased plan {self.plan_id!r}", "planId"
            )
        if quantity != self.quantity:
            raise RuleBroken(
                f"quantity {quantity} does not match the purchased quantity {self.quantity}",
                "quantity",
            )
        if self.activation_confirmed:
            return
        self.activation_confirmed_at = now
        self._complete_if_ready(now)

    def _complete_if_ready(self, now: datetime) -> None:
        if self.activated or not self.activation_confirmed or not self.licenses:
            return
        self.status = "Subscribed"
        self.term_start = now
        self.term_end = add(now, self.term_duration)  # exclusive: [term_start, term_end)
        carried = [f.name for f in dataclasses.fields(ActivationCompleted)]
        facts = {name: getattr(self, name) for name in carried if name in type(self).model_fields}
        self.record(ActivationCompleted(self.id, licenses_assigned=len(self.licenses), **facts))
