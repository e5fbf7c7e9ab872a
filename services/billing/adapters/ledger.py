"""Posted ledger lines, in the "ledger" collection. Insert only: lines are immutable."""

from __future__ import annotations

from typing import Any

from services.billing.adapters.codec import dump_time, load_time
from services.billing.domain.billing_period import Period
from services.billing.domain.ledger import LedgerLine
from shared.store.port import UnitOfWork

COLLECTION = "ledger"


class LedgerRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self._docs = uow.collection(COLLECTION)

    async def post(self, line: LedgerLine) -> None:
        """Raises DuplicateKey if a line with this id was posted already."""
        await self._docs.insert(line.id, _dump(line))

    async def for_subscription(self, subscription_id: str) -> list[LedgerLine]:
        """Every line of the subscription, in posting order."""
        return [_load(doc) for doc in await self._docs.find(subscriptionId=subscription_id)]


def _dump(line: LedgerLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "subscriptionId": line.subscription_id,
        "customerId": line.customer_id,
        "cspPartnerId": line.csp_partner_id,
        "type": line.type,
        "quantity": line.quantity,
        "unitPrice": line.unit_price,
        "amount": line.amount,
        "currency": line.currency,
        "periodStart": dump_time(line.period.start),
        "periodEnd": dump_time(line.period.end),
        "eventId": line.event_id,
        "postedAt": dump_time(line.posted_at),
        "invoiceId": line.invoice_id,
    }


def _load(doc: dict[str, Any]) -> LedgerLine:
    return LedgerLine(
        id=doc["id"],
        subscription_id=doc["subscriptionId"],
        customer_id=doc["customerId"],
        csp_partner_id=doc["cspPartnerId"],
        type=doc["type"],
        quantity=doc["quantity"],
        unit_price=doc["unitPrice"],
        amount=doc["amount"],
        currency=doc["currency"],
        period=Period(load_time(doc["periodStart"]), load_time(doc["periodEnd"])),
        event_id=doc["eventId"],
        posted_at=load_time(doc["postedAt"]),
        invoice_id=doc["invoiceId"],
    )
