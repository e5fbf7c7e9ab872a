"""Events the billing service publishes on `billing.ledger`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from shared.events.envelope import CamelModel, Event
from shared.events.topics import BILLING_LEDGER

LedgerLineType = Literal["charge", "proration", "renewal", "credit"]


class ChargePostedData(CamelModel):
    charge_id: str
    subscription_id: str
    customer_id: str
    csp_partner_id: str
    type: LedgerLineType
    amount: Decimal  # negative for credits
    currency: str
    period_start: datetime
    period_end: datetime  # exclusive: the period is [period_start, period_end)
    invoice_id: str


class ChargePosted(Event):
    TOPIC: ClassVar[str] = BILLING_LEDGER
    type: Literal["ChargePosted"] = "ChargePosted"
    data: ChargePostedData


class InvoiceIssuedData(CamelModel):
    invoice_id: str
    number: str
    # Always "invoice" since credit notes have their own event; kept for readers of v1.
    kind: Literal["invoice", "creditNote"]
    customer_id: str
    csp_partner_id: str
    currency: str
    total: Decimal
    issued_at: datetime


class InvoiceIssued(Event):
    TOPIC: ClassVar[str] = BILLING_LEDGER
    type: Literal["InvoiceIssued"] = "InvoiceIssued"
    data: InvoiceIssuedData


class CreditNoteIssuedData(CamelModel):
    credit_note_id: str
    number: str  # CN-000001, its own gapless sequence
    customer_id: str
    csp_partner_id: str
    currency: str
    total: Decimal  # at most zero: what is given back
    issued_at: datetime


class CreditNoteIssued(Event):
    """A credit note: a cancellation's refund or a seat decrease's credit."""

    TOPIC: ClassVar[str] = BILLING_LEDGER
    type: Literal["CreditNoteIssued"] = "CreditNoteIssued"
    data: CreditNoteIssuedData
