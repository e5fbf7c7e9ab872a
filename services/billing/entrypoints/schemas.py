"""Response bodies of the billing API: camelCase JSON, money as decimal strings.

Fields are read from the domain objects by name (`from_attributes`); money in minor
units becomes a decimal string with the currency's minor digits (credits negative),
the currency coming with the validation context.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AliasPath, BeforeValidator, Field, ValidationInfo

from services.billing.domain.events import LineType
from services.billing.domain.invoice import Invoice
from services.billing.service_layer.queries import Charges
from shared.events.envelope import CamelModel
from shared.money import format_money


def _money(minor: int, info: ValidationInfo) -> str:
    return format_money(minor, info.context["currency"])


Money = Annotated[str, BeforeValidator(_money)]  # minor units in, "10.00" out


class _Out(CamelModel):
    @classmethod
    def shaped(cls, source: Any, currency: str) -> Self:
        return cls.model_validate(source, from_attributes=True, context={"currency": currency})


class InvoiceLineItemOut(_Out):
    subscription_id: str
    description: str
    type: LineType
    quantity: int
    unit_price: Money
    period_start: datetime
    period_end: datetime
    amount: Money


class InvoiceOut(_Out):
    id: str
    number: str
    kind: Literal["invoice", "creditNote"]
    customer_id: str
    currency: str
    issued_at: datetime
    total: Money
    line_items: list[InvoiceLineItemOut]

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls.shaped(invoice, invoice.currency)


class InvoiceList(CamelModel):
    total_count: int
    items: list[InvoiceOut]

    @classmethod
    def of(cls, invoices: list[Invoice]) -> InvoiceList:
        return cls(total_count=len(invoices), items=[InvoiceOut.of(i) for i in invoices])


class ChargeOut(_Out):
    id: str
    type: LineType
    amount: Money
    currency: str
    period_start: datetime = Field(validation_alias=AliasPath("period", "start"))
    period_end: datetime = Field(validation_alias=AliasPath("period", "end"))
    event_id: str
    posted_at: datetime
    invoice_id: str


class ChargeList(CamelModel):
    total_count: int
    items: list[ChargeOut]
    balance: str

    @classmethod
    def of(cls, charges: Charges) -> ChargeList:
        return cls(
            total_count=len(charges.lines),
            items=[ChargeOut.shaped(line, charges.currency) for line in charges.lines],
            balance=format_money(charges.balance, charges.currency),
        )
