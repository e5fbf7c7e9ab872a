"""Response bodies of the billing API: camelCase JSON, money as decimal strings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.billing.domain.invoice import Invoice, InvoiceLine
from services.billing.domain.ledger import LedgerLine, LineType
from services.billing.service_layer.queries import SubscriptionCharges
from shared.events.envelope import CamelModel
from shared.money import format_money


class InvoiceLineItemOut(CamelModel):
    subscription_id: str
    description: str
    type: LineType
    quantity: int
    unit_price: str
    period_start: datetime
    period_end: datetime
    amount: str

    @classmethod
    def of(cls, item: InvoiceLine, currency: str) -> InvoiceLineItemOut:
        return cls(
            subscription_id=item.subscription_id,
            description=item.description,
            type=item.type,
            quantity=item.quantity,
            unit_price=format_money(item.unit_price, currency),
            period_start=item.period_start,
            period_end=item.period_end,
            amount=format_money(item.amount, currency),
        )


class InvoiceOut(CamelModel):
    id: str
    number: str
    kind: Literal["invoice", "creditNote"]
    customer_id: str
    currency: str
    issued_at: datetime
    total: str
    line_items: list[InvoiceLineItemOut]

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            number=invoice.number,
            kind=invoice.kind,
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            issued_at=invoice.issued_at,
            total=format_money(invoice.total, invoice.currency),
            line_items=[InvoiceLineItemOut.of(i, invoice.currency) for i in invoice.line_items],
        )


class InvoiceList(CamelModel):
    total_count: int
    items: list[InvoiceOut]


class ChargeOut(CamelModel):
    id: str
    type: LineType
    amount: str
    currency: str
    period_start: datetime
    period_end: datetime
    event_id: str
    posted_at: datetime
    invoice_id: str

    @classmethod
    def of(cls, line: LedgerLine) -> ChargeOut:
        return cls(
            id=line.id,
            type=line.type,
            amount=format_money(line.amount, line.currency),
            currency=line.currency,
            period_start=line.period.start,
            period_end=line.period.end,
            event_id=line.event_id,
            posted_at=line.posted_at,
            invoice_id=line.invoice_id,
        )


class ChargeList(CamelModel):
    total_count: int
    items: list[ChargeOut]
    balance: str

    @classmethod
    def of(cls, charges: SubscriptionCharges) -> ChargeList:
        return cls(
            total_count=len(charges.lines),
            items=[ChargeOut.of(line) for line in charges.lines],
            balance=format_money(charges.balance, charges.currency),
        )
