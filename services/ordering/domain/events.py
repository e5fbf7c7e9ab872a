"""What happened in ordering: domain events, past tense, plain data.

Not the wire format: `adapters/wire_events.py` maps each to its versioned wire event
(`shared.events.ordering`), carrying fields by name, so a field here has the name of
the wire field it becomes. Money stays in minor units here; the mapping turns it
into the wire's decimal.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain import DomainEvent


class SubscriptionPurchased(DomainEvent):
    """One order line was bought: everything provisioning and billing need."""

    order_id: str
    line_item_number: int
    csp_partner_id: str  # the CSP partner who bought (token claim `partnerId`)
    customer_id: str
    customer_name: str
    purchased_by: str  # the partner user (token `sub`)
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: str
    billing_cycle: str
    currency: str
    price_per_seat_minor: int  # per billing period, locked at purchase
    friendly_name: str
    reseller_mpn_id: str | None  # the indirect reseller's MPN ID
    auto_renew_enabled: bool
    purchased_at: datetime
    refundable_until: datetime


# The partner's changes after purchase (PATCH .../subscriptions/{sid}): each is a request
# provisioning acts on, named by the operation id the publisher will see.


class SubscriptionChangeRequested(DomainEvent):
    """Base of the partner's requests; never recorded itself."""

    operation_id: str  # fresh per request: the publisher-side operation it becomes
    requested_by: str  # the partner user (token `sub`)
    requested_at: datetime


class SubscriptionDetailsChanged(SubscriptionChangeRequested):
    """Nickname, indirect reseller and auto-renew as they now stand."""

    friendly_name: str
    reseller_mpn_id: str | None
    auto_renew_enabled: bool


class QuantityChangeRequested(SubscriptionChangeRequested):
    quantity: int  # the seats wanted; the publisher decides
    previous_quantity: int


class SuspensionRequested(SubscriptionChangeRequested):
    pass


class ReinstatementRequested(SubscriptionChangeRequested):
    pass


class CancellationRequested(SubscriptionChangeRequested):
    immediate: bool  # inside the refund window (or never activated): ends now, all credited
