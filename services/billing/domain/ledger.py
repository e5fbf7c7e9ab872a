"""Ledger lines: every charge, proration, renewal and credit, posted once, immutable.

A line's id is derived: the activation's first charge from the event that caused it,
every later line from what it is (subscription, period, type). So a second posting
collides on insert even if the inbox missed it, and the store's unique index on
(subscription, period start, period end, type) refuses it whatever its id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict

from services.billing.domain.billing_period import Period, UtcDatetime
from services.billing.domain.events import ChargePosted, LineType, event_from
from services.billing.domain.subscription import BilledSubscription
from shared.domain import Aggregate

# Fixed forever: changing it would change every derived id.
_ID_NAMESPACE = uuid.UUID("5b0f4a52-3c1e-4d7e-9a57-6f2b7c1d0b11")


def derived_id(cause_id: str, kind: str) -> str:
    """Deterministic id of what `cause_id` produced as `kind` (a ledger line, an invoice)."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{cause_id}/{kind}"))


class LedgerLine(Aggregate):
    model_config = ConfigDict(frozen=True)  # posted once, never changed
    COLLECTION: ClassVar[str] = "ledger"

    subscription_id: str
    customer_id: str
    csp_partner_id: str
    type: LineType
    quantity: int
    unit_price: int  # minor units per seat for the period
    amount: int  # minor units; negative for credits
    currency: str
    period: Period
    event_id: str  # the event that caused this line
    posted_at: UtcDatetime
    invoice_id: str  # the invoice or credit note that shows it

    @classmethod
    def post(
        cls,
        subscription: BilledSubscription,
        *,
        line_type: LineType,
        period: Period,
        quantity: int,
        amount: int,
        event_id: str,
        posted_at: datetime,
        invoice_id: str,
        line_id: str | None = None,
    ) -> LedgerLine:
        """A line of `subscription` at its price per seat; records ChargePosted. Its id
        is `line_id`, by default the one `line_id()` derives from what the line is."""
        line = cls(
            id=line_id or derive_line_id(subscription.id, period, line_type),
            subscription_id=subscription.id,
            customer_id=subscription.customer_id,
            csp_partner_id=subscription.csp_partner_id,
            type=line_type,
            quantity=quantity,
            unit_price=subscription.price_per_seat,
            amount=amount,
            currency=subscription.currency,
            period=period,
            event_id=event_id,
            posted_at=posted_at,
            invoice_id=invoice_id,
        )
        line.record(event_from(ChargePosted, line, charge_id=line.id))
        return line

    @classmethod
    def period_charge(
        cls,
        subscription: BilledSubscription,
        period: Period,
        *,
        event_id: str,
        posted_at: datetime,
        invoice_id: str,
        line_type: LineType = "charge",
    ) -> LedgerLine:
        """A full period at the subscription's current quantity and price, its id derived
        from the event that caused it (the activation's first charge)."""
        return cls.post(
            subscription,
            line_type=line_type,
            period=period,
            quantity=subscription.quantity,
            amount=subscription.period_price(),
            event_id=event_id,
            posted_at=posted_at,
            invoice_id=invoice_id,
            line_id=derived_id(event_id, line_type),
        )


def derive_line_id(subscription_id: str, period: Period, line_type: LineType) -> str:
    """The id of the one line of this type for this span: the same whichever path posts
    it (a fact, its replay under a new event id, the due work), as the unique index
    (subscription, period start, period end, type) demands."""
    span = f"{subscription_id}/{period.start.isoformat()}/{period.end.isoformat()}"
    return derived_id(span, line_type)


@dataclass(frozen=True)
class Credit:
    """What a cancellation gives back for one billing period: `period` spans the
    reversed lines, `quantity` and `amount` are their sums, negated."""

    period: Period
    quantity: int
    amount: int


def cancellation_credits(lines: list[LedgerLine]) -> list[Credit]:
    """One credit per billing period reversing every non-credit line in it, oldest first.

    Every line ends where its billing period ends (a charge, a renewal, a proration or a
    reinstatement's charge from an instant on), so lines sharing an end share a period:
    they merge into one credit spanning from the earliest of them, which keeps
    (subscription, period, "credit") unique. A period credited already is left alone."""
    by_end: dict[datetime, list[LedgerLine]] = {}
    for line in lines:
        by_end.setdefault(line.period.end, []).append(line)
    credits = []
    for end, group in sorted(by_end.items()):
        if any(line.type == "credit" for line in group):
            continue
        start = min(line.period.start for line in group)
        credits.append(
            Credit(
                period=Period(start=start, end=end),
                quantity=-sum(line.quantity for line in group),
                amount=-sum(line.amount for line in group),
            )
        )
    return credits


def balance(lines: list[LedgerLine]) -> int:
    """What the customer owes for these lines (credits count negative), in minor units."""
    return sum(line.amount for line in lines)
