"""What happened to a SaaS subscription: domain events, past tense, plain data.

The aggregate records them; `adapters/wire_events.py` turns each into its versioned
wire event at commit (docs/architecture.md, "One way per concern"). Field names match
the wire payloads wherever the meaning is the same, so the mapping carries them by name.
"""

from __future__ import annotations

from datetime import datetime

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
