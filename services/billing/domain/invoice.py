"""Invoices and credit notes: immutable, gaplessly numbered, one sequence per kind.

The number comes from the store's gapless counter named by `sequence_name(kind)`
(a rolled-back unit of work gives it back); these rules only format and check.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, computed_field

from services.billing.domain.billing_period import UtcDatetime, ValueObject
from services.billing.domain.events import (
    CreditNoteIssued,
    DocumentKind,
    InvoiceIssued,
    LineType,
    event_from,
)
from services.billing.domain.ledger import LedgerLine
from services.billing.domain.subscription import BilledSubscription
from shared.domain import Aggregate
from shared.periods import last_day

_PREFIX: dict[str, str] = {"invoice": "INV", "creditNote": "CN"}
NUMBER_DIGITS = 6


def sequence_name(kind: DocumentKind) -> str:
    """Each kind has its own gapless counter: INV-000001..., CN-000001..."""
    if kind not in _PREFIX:
        raise ValueError(f"unknown document kind {kind!r}")
    return kind


def format_number(kind: DocumentKind, value: int) -> str:
    if value < 1:
        raise ValueError(f"document numbers start at 1, got {value}")
    return f"{_PREFIX[sequence_name(kind)]}-{value:0{NUMBER_DIGITS}d}"


def describe(subscription: BilledSubscription, line: LedgerLine) -> str:
    """'Contoso CRM / standard: 5 seats, 2026-11-22 to 2026-12-21': the period's first
    and last day (its end is exclusive; a period shorter than a day names one day).
    A seat change names the seats it adds or removes, a renewal and a credit say so."""
    seats = f"{abs(line.quantity)} {'seat' if abs(line.quantity) == 1 else 'seats'}"
    what = {
        "charge": seats,
        "renewal": f"{seats} (renewal)",
        "proration": f"{'+' if line.quantity >= 0 else '-'}{seats} (seat change)",
        "credit": f"{seats} (credit)",
    }[line.type]
    first = line.period.start.date()
    last = max(first, last_day(line.period.end))
    return (
        f"{subscription.offer_name} / {subscription.plan_id}: {what}, "
        f"{first.isoformat()} to {last.isoformat()}"
    )


class InvoiceLine(ValueObject):
    subscription_id: str
    description: str
    type: LineType
    quantity: int
    unit_price: int  # minor units
    period_start: UtcDatetime
    period_end: UtcDatetime
    amount: int  # minor units; negative on credit notes

    @classmethod
    def for_ledger_line(cls, line: LedgerLine, description: str) -> InvoiceLine:
        return cls(
            subscription_id=line.subscription_id,
            description=description,
            type=line.type,
            quantity=line.quantity,
            unit_price=line.unit_price,
            period_start=line.period.start,
            period_end=line.period.end,
            amount=line.amount,
        )


class Invoice(Aggregate):
    model_config = ConfigDict(frozen=True)  # issued once, never changed
    COLLECTION: ClassVar[str] = "invoices"

    number: str
    sequence_number: int  # the counter value behind `number`, for ordering
    kind: DocumentKind
    customer_id: str
    csp_partner_id: str  # whose partner may see it
    currency: str
    issued_at: UtcDatetime
    line_items: tuple[InvoiceLine, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        """Stored too, for readers of the raw store; recomputed on load."""
        return sum(item.amount for item in self.line_items)

    @classmethod
    def issue(
        cls,
        *,
        document_id: str,
        kind: DocumentKind,
        sequence_number: int,
        subscription_id: str,
        customer_id: str,
        csp_partner_id: str,
        currency: str,
        issued_at: datetime,
        line_items: list[InvoiceLine],
    ) -> Invoice:
        """A new document, recording InvoiceIssued or CreditNoteIssued keyed by
        `subscription_id` (so it is ordered after its charge); an invoice never totals
        below zero, a credit note never above."""
        if not line_items:
            raise ValueError("an invoice needs at least one line item")
        document = cls(
            id=document_id,
            number=format_number(kind, sequence_number),
            sequence_number=sequence_number,
            kind=kind,
            customer_id=customer_id,
            csp_partner_id=csp_partner_id,
            currency=currency,
            issued_at=issued_at,
            line_items=tuple(line_items),
        )
        if kind == "invoice" and document.total < 0:
            raise ValueError("an invoice cannot total below zero; issue a credit note")
        if kind == "creditNote" and document.total > 0:
            raise ValueError("a credit note cannot total above zero; issue an invoice")
        if kind == "creditNote":
            issued: InvoiceIssued | CreditNoteIssued = event_from(
                CreditNoteIssued,
                document,
                subscription_id=subscription_id,
                credit_note_id=document.id,
            )
        else:
            issued = event_from(
                InvoiceIssued, document, subscription_id=subscription_id, invoice_id=document.id
            )
        document.record(issued)
        return document


def newest_first(documents: list[Invoice]) -> list[Invoice]:
    """Listing order: issuedAt descending, then number descending."""
    return sorted(documents, key=lambda d: (d.issued_at, d.sequence_number), reverse=True)
