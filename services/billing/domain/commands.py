"""What billing is asked to do: imperative, plain data, money in minor units."""

from __future__ import annotations

from datetime import datetime

from shared.service_layer import Command


class StartBilling(Command):
    """Charge a freshly activated subscription's first period and invoice it.

    The facts are the subscription's, locked at purchase. `activation_id` is the id of
    the event that asked for it: the ledger line's and the invoice's ids derive from
    it. It travels in the command, not read from `uow.cause`, because it is a business
    fact (the line's `eventId` over HTTP) and the handler must not depend on how it was
    called: a test or a later entrypoint names it explicitly, and a second posting for
    the same activation collides whatever path it came by.
    """

    activation_id: str
    correlation_id: str  # the purchase that started it all
    subscription_id: str
    customer_id: str
    csp_partner_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    currency: str
    price_per_seat: int  # minor units, per billing period
    quantity: int
    term_duration: str
    billing_cycle: str
    term_start: datetime
    term_end: datetime
    auto_renew_enabled: bool


class FollowFact(Command):
    """A fact provisioning published about a subscription after its activation.

    `event_id` is the fact's event (the `eventId` of the lines it causes);
    `operation_id` the publisher-side operation it reports: one fact per operation,
    so the subscription applies each operation once, whatever event carried it.
    """

    event_id: str
    subscription_id: str
    operation_id: str


class ApplyQuantityChange(FollowFact):
    """The publisher accepted a seat change: prorate the rest of the period."""

    quantity: int
    previous_quantity: int
    accepted_at: datetime


class SuspendBilling(FollowFact):
    suspended_at: datetime


class ReinstateBilling(FollowFact):
    reinstated_at: datetime


class CancelBilling(FollowFact):
    """Cancelled inside the refund window: credit every charge, charge nothing more."""

    cancelled_at: datetime


class RecordScheduledCancellation(FollowFact):
    """Auto-renew turned off; the term ends at `ends_at` (SubscriptionExpired then)."""

    ends_at: datetime


class RenewTerm(FollowFact):
    term_start: datetime
    term_end: datetime
    quantity: int


class EndBilling(FollowFact):
    """The term ended without renewal: nothing more is charged."""

    ended_at: datetime


class ChargeDuePeriods(Command):
    """Billing's due work: charge the subscription's periods that have started by
    `until` (the business time of the pass)."""

    subscription_id: str
    until: datetime
