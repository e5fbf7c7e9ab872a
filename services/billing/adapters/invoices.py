"""Issued invoices and credit notes, in the "invoices" collection. Insert only."""

from __future__ import annotations

from typing import Any

from services.billing.adapters.codec import dump_time, load_time
from services.billing.domain.invoice import Invoice, InvoiceLine
from shared.store.port import UnitOfWork

COLLECTION = "invoices"


class InvoiceRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self._docs = uow.collection(COLLECTION)

    async def add(self, invoice: Invoice) -> None:
        """Raises DuplicateKey if this id was issued already."""
        await self._docs.insert(invoice.id, _dump(invoice))

    async def get(self, invoice_id: str) -> Invoice | None:
        doc = await self._docs.get(invoice_id)
        return None if doc is None else _load(doc)

    async def of_partner(
        self, csp_partner_id: str, customer_id: str | None = None
    ) -> list[Invoice]:
        """The partner's documents (optionally one customer's), in issuing order."""
        equals: dict[str, Any] = {"cspPartnerId": csp_partner_id}
        if customer_id is not None:
            equals["customerId"] = customer_id
        return [_load(doc) for doc in await self._docs.find(**equals)]


def _dump(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "sequenceNumber": invoice.sequence_number,
        "kind": invoice.kind,
        "customerId": invoice.customer_id,
        "cspPartnerId": invoice.csp_partner_id,
        "currency": invoice.currency,
        "issuedAt": dump_time(invoice.issued_at),
        "total": invoice.total,  # denormalised for readers of the raw store
        "lineItems": [_dump_item(item) for item in invoice.line_items],
    }


def _dump_item(item: InvoiceLine) -> dict[str, Any]:
    return {
        "subscriptionId": item.subscription_id,
        "description": item.description,
        "type": item.type,
        "quantity": item.quantity,
        "unitPrice": item.unit_price,
        "periodStart": dump_time(item.period_start),
        "periodEnd": dump_time(item.period_end),
        "amount": item.amount,
    }


def _load(doc: dict[str, Any]) -> Invoice:
    return Invoice(
        id=doc["id"],
        number=doc["number"],
        sequence_number=doc["sequenceNumber"],
        kind=doc["kind"],
        customer_id=doc["customerId"],
        csp_partner_id=doc["cspPartnerId"],
        currency=doc["currency"],
        issued_at=load_time(doc["issuedAt"]),
        line_items=tuple(
            InvoiceLine(
                subscription_id=item["subscriptionId"],
                description=item["description"],
                type=item["type"],
                quantity=item["quantity"],
                unit_price=item["unitPrice"],
                period_start=load_time(item["periodStart"]),
                period_end=load_time(item["periodEnd"]),
                amount=item["amount"],
            )
            for item in doc["lineItems"]
        ),
    )
