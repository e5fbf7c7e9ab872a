"""The SaaS subscription aggregate and its activation state machine.

CSP activation needs two publisher steps in either order, each retryable:
licenses assigned (at least one) and activation confirmed (matching plan and
quantity). The moment both hold, and only once, the subscription becomes
`Subscribed` and its term starts (DOMAIN.md, "The life of a subscription" 3-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.provisioning.domain.errors import RuleViolation
from services.provisioning.domain.facts import ActivationDone, Fact, LicensesChanged
from shared.periods import inclusive_end

SaasStatus = Literal["PendingFulfillmentStart", "Subscribed", "Suspended", "Unsubscribed"]
TermDuration = Literal["P1M", "P1Y"]
BillingCycle = Literal["monthly", "annual"]

# States in which the publisher may (re)assign licenses.
LICENSABLE: frozenset[str] = frozenset({"PendingFulfillmentStart", "Subscribed"})


class LicenseAssignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    email: str | None = None


class SaasSubscription(BaseModel):
    """Everything the purchase told us, plus the publisher-side progress."""

    id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: TermDuration
    billing_cycle: BillingCycle
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
    licenses: tuple[LicenseAssignment, ...] = ()
    term_start: datetime | None = None
    term_end: datetime | None = None

    @property
    def activation_confirmed(self) -> bool:
        return self.activation_confirmed_at is not None

    @property
    def activated(self) -> bool:
        """ActivationCompleted happened (the term has started)."""
        return self.term_start is not None

    def assign_licenses(
        self, assignments: Sequence[LicenseAssignment], now: datetime
    ) -> list[Fact]:
        """Replace the whole assignment set; same set again changes nothing."""
        if self.status not in LICENSABLE:
            raise RuleViolation(
                f"licenses cannot be assigned while the subscription is {self.status}",
                "assignments",
            )
        if not assignments:
            raise RuleViolation("assign at least one license", "assignments")
        user_ids = [a.user_id for a in assignments]
        if len(set(user_ids)) != len(user_ids):
            # Explicit rather than silently merged: the publisher sees its own mistake.
            raise RuleViolation("each userId may appear only once", "assignments")
        if len(assignments) > self.quantity:
            raise RuleViolation(
                f"{len(assignments)} assignments exceed the {self.quantity} purchased seats",
                "assignments",
            )
        wanted = tuple(sorted(assignments, key=lambda a: a.user_id))
        if wanted == self.licenses:
            return []
        self.licenses = wanted
        facts: list[Fact] = [LicensesChanged(len(wanted), self.quantity)]
        return facts + self._complete_if_ready(now)

    def confirm_activation(self, plan_id: str, quantity: int, now: datetime) -> list[Fact]:
        """The publisher's `activate` call; a retry while waiting for licenses is a no-op."""
        if self.status == "Subscribed":
            raise RuleViolation("the subscription is already activated")
        if self.status != "PendingFulfillmentStart":
            raise RuleViolation(f"a {self.status} subscription cannot be activated")
        if plan_id != self.plan_id:
            raise RuleViolation(
                f"planId {plan_id!r} does not match the purchased plan {self.plan_id!r}", "planId"
            )
        if quantity != self.quantity:
            raise RuleViolation(
                f"quantity {quantity} does not match the purchased quantity {self.quantity}",
                "quantity",
            )
        if self.activation_confirmed:
            return []
        self.activation_confirmed_at = now
        return self._complete_if_ready(now)

    def _complete_if_ready(self, now: datetime) -> list[Fact]:
        if self.activated or not self.activation_confirmed or not self.licenses:
            return []
        self.status = "Subscribed"
        self.term_start = now
        self.term_end = inclusive_end(now, self.term_duration)
        return [ActivationDone(len(self.licenses), self.term_start, self.term_end)]
