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
from shared.http.paging import ListBody, PageLinks
from shared.money import format_money
from shared.service_layer import Paged


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


class InvoiceList(ListBody):
    """A page of invoices: `totalCount` counts this page; `links.next` while more remain."""

    total_count: int
    items: list[InvoiceOut]
    links: PageLinks | None = None

    @classmethod
    def of(cls, invoices: Paged[Invoice], links: PageLinks | None = None) -> InvoiceList:
        items = [InvoiceOut.of(i) for i in invoices.items]
        return cls(total_count=len(items), items=items, links=links)


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


class ChargeList(ListBody):
    """A page of charges; `balance` is that of every line of the subscription; `status`
    is billing's view of it (active, suspended, ended: nothing more will be charged)."""

    total_count: int
    items: list[ChargeOut]
    balance: str
    status: Literal["active", "suspended", "ended"]
    links: PageLinks | None = None

    @classmethod
    def of(cls, charges: Charges, links: PageLinks | None = None) -> ChargeList:
        return cls(
            total_count=len(charges.lines),
            items=[ChargeOut.shaped(line, charges.currency) for line in charges.lines],
            balance=format_money(charges.balance, charges.currency),
            status=charges.status,
            links=links,
        )
