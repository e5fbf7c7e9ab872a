"""What billing records happened: past tense, plain data, amounts in minor units.

`adapters/wire_events.py` turns them into the versioned wire events of the same
names (decimal amounts). Both are keyed by the subscription id, so on the topic an
invoice always follows the charge it shows.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal, TypeVar

from services.billing.domain.billing_period import Period
from shared.domain import DomainEvent

E = TypeVar("E", bound=DomainEvent)

LineType = Literal["charge", "proration", "renewal", "credit"]
DocumentKind = Literal["invoice", "creditNote"]


class ChargePosted(DomainEvent):
    charge_id: str
    customer_id: str
    csp_partner_id: str
    type: LineType
    amount: int  # minor units; negative for credits
    currency: str
    period: Period
    invoice_id: str


class InvoiceIssued(DomainEvent):
    invoice_id: str
    number: str
    kind: DocumentKind  # always "invoice": a credit note is CreditNoteIssued
    customer_id: str
    csp_partner_id: str
    currency: str
    total: int  # minor units
    issued_at: datetime


class CreditNoteIssued(DomainEvent):
    credit_note_id: str
    number: str
    customer_id: str
    csp_partner_id: str
    currency: str
    total: int  # minor units, at most zero
    issued_at: datetime


def event_from(kind: type[E], source: object, **overrides: Any) -> E:
    """`kind` made of `source`'s attributes of the same names (an aggregate recording
    what happened to it); `overrides` gives the ones named differently."""
    names = [f.name for f in dataclasses.fields(kind) if f.name not in overrides]
    return kind(**{name: getattr(source, name) for name in names}, **overrides)
