"""The partner's view of one subscription: bought at checkout, then following
provisioning's facts about it.

Every change after the purchase sets values (never adds), so applying the same fact
twice changes nothing: the view stays right even past the consumer's inbox.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from services.ordering.domain.events import SubscriptionPurchased
from services.ordering.domain.model import BillingCycle, TermDuration, Value
from shared.domain import Aggregate
from shared.periods import last_day

SubscriptionStatus = Literal["pending", "active", "suspended", "deleted"]
STATUSES: tuple[str, ...] = ("pending", "active", "suspended", "deleted")

_PURCHASE_FACTS = {f.name for f in dataclasses.fields(SubscriptionPurchased)}


class PendingChange(Value):
    quantity: int | None = None
    plan_id: str | None = None
    operation_id: str


class Subscription(Aggregate):
    COLLECTION: ClassVar[str] = "subscriptions"

    csp_partner_id: str
    customer_id: str
    order_id: str
    line_item_number: int
    offer_id: str
    plan_id: str
    publisher_id: str
    friendly_name: str
    quantity: int
    status: SubscriptionStatus = "pending"
    action_needed: bool = False
    activation_link: str | None = None
    licenses_assigned: int = 0
    auto_renew_enabled: bool
    reseller_mpn_id: str | None
    term_duration: TermDuration
    billing_cycle: BillingCycle
    currency: str
    price_per_seat_minor: int  # per billing period, locked at purchase
    creation_date: datetime
    effective_start_date: datetime | None = None
    commitment_end_date: date | None = None  # the term's last day (Partner Center's habit)
    refundable_until: datetime | None = None
    pending_change: PendingChange | None = None
    correlation_id: str  # the purchase that started it all: every event about it carries it

    @field_validator("commitment_end_date", mode="before")
    @classmethod
    def _last_day_of_a_stored_instant(cls, value: Any) -> Any:
        """Views stored before the dates were half-open kept the term's last day as an
        instant (start + term - 1 day); its date is that last day."""
        if isinstance(value, str) and "T" in value:
            value = datetime.fromisoformat(value)
        return value.date() if isinstance(value, datetime) else value

    def record_purchase(
        self, *, customer_name: str, purchased_by: str, offer_name: str, plan_name: str
    ) -> None:
        """Records SubscriptionPurchased: its own facts plus the names it does not keep."""
        facts = self.model_dump(include=_PURCHASE_FACTS)
        self.record(
            SubscriptionPurchased(
                **facts,
                subscription_id=self.id,
                customer_name=customer_name,
                purchased_by=purchased_by,
                offer_name=offer_name,
                plan_name=plan_name,
                purchased_at=self.creation_date,
            )
        )

    def record_activation_link(self, link: str) -> None:
        # The partner must act (send the link to the customer) only while pending.
        self.activation_link = link
        self.action_needed = self.status == "pending"

    def record_licenses(self, count: int) -> None:
        self.licenses_assigned = count

    def record_activation(self, term_start: datetime, term_end: datetime, licenses: int) -> None:
        """Pending -> active; `term_end` is exclusive ([term_start, term_end)), so the
        commitment ends on the day before it. A later status (suspended, deleted) is not
        undone by a late or replayed activation: only the dates and license count are taken."""
        if self.status == "pending":
            self.status = "active"
        self.action_needed = False
        self.effective_start_date = term_start
        self.commitment_end_date = last_day(term_end)
        self.licenses_assigned = licenses
