"""Billing's domain events -> the wire events it publishes on `billing.ledger`.

Fields travel by name; only money (minor units -> a decimal amount in the currency)
and the charge's period (one value -> `periodStart`/`periodEnd`) are converted.
"""

from __future__ import annotations

from typing import Any

from services.billing.domain import events
from shared.events import billing as wire
from shared.messaging.mapping import EventMapping
from shared.money import from_minor


def _charge_posted(event: events.ChargePosted) -> dict[str, Any]:
    return {
        "amount": from_minor(event.amount, event.currency),
        "period_start": event.period.start,
        "period_end": event.period.end,
    }


def _document_issued(event: events.InvoiceIssued | events.CreditNoteIssued) -> dict[str, Any]:
    return {"total": from_minor(event.total, event.currency)}


EVENTS = EventMapping(
    "billing",
    {
        events.ChargePosted: wire.ChargePosted,
        events.InvoiceIssued: wire.InvoiceIssued,
        events.CreditNoteIssued: wire.CreditNoteIssued,
    },
    convert={
        events.ChargePosted: _charge_posted,
        events.InvoiceIssued: _document_issued,
        events.CreditNoteIssued: _document_issued,
    },
)
