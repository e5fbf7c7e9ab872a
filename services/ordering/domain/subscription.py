"""The partner's view of one subscription, following provisioning's events.

Every change sets values (never adds), so applying the same fact twice changes
nothing: the view handlers are idempotent even without the inbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.ordering.domain.model import BillingCycle, DomainModel, Entity, TermDuration

SubscriptionStatus = Literal["pending", "active", "suspended", "deleted"]
STATUSES: tuple[str, ...] = ("pending", "active", "suspended", "deleted")


class PendingChange(DomainModel):
    quantity: int | None = None
    plan_id: str | None = None
    operation_id: str


class Subscription(Entity):
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
    commitment_end_date: datetime | None = None
    refundable_until: datetime | None = None
    pending_change: PendingChange | None = None
    correlation_id: str  # id of the SubscriptionPurchased event that started it all

    def with_activation_link(self, link: str) -> Subscription:
        # The partner must act (send the link to the customer) only while pending.
        return self.model_copy(
            update={"activation_link": link, "action_needed": self.status == "pending"}
        )

    def with_licenses_assigned(self, count: int) -> Subscription:
        return self.model_copy(update={"licenses_assigned": count})

    def activated(self, term_start: datetime, term_end: datetime, licenses: int) -> Subscription:
        """Pending -> active. A later status (suspended, deleted) is not undone by a
        late or replayed activation: only the dates and license count are taken."""
        status = "active" if self.status in ("pending", "active") else self.status
        return self.model_copy(
            update={
                "status": status,
                "action_needed": False,
                "effective_start_date": term_start,
                "commitment_end_date": term_end,
                "licenses_assigned": licenses,
            }
        )
