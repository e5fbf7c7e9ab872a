"""What happened to a SaaS subscription: domain events, past tense, plain data.

The aggregate records them; `adapters/wire_events.py` turns each into its versioned
wire event at commit (docs/architecture.md, "One way per concern"). Field names match
the wire payloads wherever the meaning is the same, so the mapping carries them by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.domain import DomainEvent


class ActivationLinkIssued(DomainEvent):
    """A purchase became a pending subscription; the publisher may now resolve its token."""

    link: str  # landing page URL + ?token=<url-encoded purchase token>
    token_expires_at: datetime


class LicensesAssigned(DomainEvent):
    """The license set changed (never for the same set again)."""

    assigned_count: int
    quantity: int


class ActivationCompleted(DomainEvent):
    """Licenses assigned AND activation confirmed: the term starts, billing may start."""

    csp_partner_id: str
    customer_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    quantity: int
    licenses_assigned: int
    term_duration: str
    billing_cycle: str
    currency: str
    price_per_seat_minor: int  # minor units of `currency`, per billing period
    auto_renew: bool
    term_start: datetime
    term_end: datetime  # start + term, exclusive: the term is [term_start, term_end)


# After activation: what each of the partner's requests (or the term's end) came to.
# Each names the operation it became and the instant it took effect; billing prices by
# that instant (docs/subscription-lifecycle.md, "Events").


class QuantityChangeAccepted(DomainEvent):
    operation_id: str
    quantity: int
    previous_quantity: int
    accepted_at: datetime
    accepted_by: Literal["publisher", "timeout"]


class QuantityChangeRejected(DomainEvent):
    operation_id: str
    quantity: int  # the seats asked for
    current_quantity: int  # unchanged
    rejected_at: datetime
    reason: str


class SubscriptionSuspended(DomainEvent):
    operation_id: str
    suspended_at: datetime


class SubscriptionReinstated(DomainEvent):
    operation_id: str
    reinstated_at: datetime


class SubscriptionCancelled(DomainEvent):
    """Ended at once (inside the refund window, or never activated)."""

    operation_id: str
    cancelled_at: datetime


class CancellationScheduled(DomainEvent):
    """Auto-renew off: the subscription ends at `ends_at` (its term end)."""

    operation_id: str
    ends_at: datetime


class SubscriptionRenewed(DomainEvent):
    operation_id: str
    term_start: datetime  # = the previous term's end
    term_end: datetime  # exclusive
    quantity: int


class SubscriptionExpired(DomainEvent):
    operation_id: str
    ended_at: datetime  # the term's (exclusive) end
