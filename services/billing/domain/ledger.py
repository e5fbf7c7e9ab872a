"""Ledger lines: every charge, proration, renewal and credit, posted once, immutable.

A line's id is derived from the event that caused it and the kind of line, so a
second posting for the same cause collides on insert even if the inbox missed it.
"""

from __future__ import annotations

import uuid
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
        """A full period at the subscription's current quantity and price (charge or
        renewal); records ChargePosted."""
        line = cls(
            id=derived_id(event_id, line_type),
            subscription_id=subscription.id,
            customer_id=subscription.customer_id,
            csp_partner_id=subscription.csp_partner_id,
            type=line_type,
            quantity=subscription.quantity,
            unit_price=subscription.price_per_seat,
            amount=subscription.period_price(),
            currency=subscription.currency,
            period=period,
            event_id=event_id,
            posted_at=posted_at,
            invoice_id=invoice_id,
        )
        line.record(event_from(ChargePosted, line, charge_id=line.id))
        return line


def balance(lines: list[LedgerLine]) -> int:
    """What the customer owes for these lines (credits count negative), in minor units."""
    return sum(line.amount for line in lines)
