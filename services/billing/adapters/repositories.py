"""Billing's aggregates in their store collections: the generic repository plus finders.

Documents are each aggregate's own `model_dump(mode="json")`; ledger lines and
invoices are insert only (`add` raises DuplicateKey on a second posting of an id, or
of a line the unique index `ONE_LINE_PER_PERIOD` already holds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.billing.domain.invoice import Invoice
from services.billing.domain.ledger import LedgerLine
from services.billing.domain.subscription import BilledSubscription
from shared.service_layer import Paged, PageRequest, Repository
from shared.store.port import UniqueIndex

# Every ledger line is one of a kind for its span: a renewal, a period's charge, a
# proration from an instant or a cancellation's credit can never be posted twice,
# whatever id or path a second posting comes with. The store enforces it.
ONE_LINE_PER_PERIOD = UniqueIndex(
    LedgerLine.COLLECTION,
    "one_line_per_period",
    ("subscription_id", "period.start", "period.end", "type"),
)
INDEXES = (ONE_LINE_PER_PERIOD,)


class SubscriptionRepository(Repository[BilledSubscription]):
    model = BilledSubscription

    async def due_for_charge(self, until: datetime, limit: int) -> list[BilledSubscription]:
        """Those with a period to charge that started by `until`, the earliest first
        (`BilledSubscription.due_times`)."""
        return await self._find_due("charge_due_at", until, limit)


class LedgerRepository(Repository[LedgerLine]):
    model = LedgerLine

    async def for_subscription(self, subscription_id: str) -> list[LedgerLine]:
        """Every line of the subscription, in posting order."""
        return await self._find(subscription_id=subscription_id)


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    async def of_partner(
        self, csp_partner_id: str, customer_id: str | None = None
    ) -> list[Invoice]:
        """The partner's documents (optionally one customer's), in issuing order."""
        equals: dict[str, Any] = {"csp_partner_id": csp_partner_id}
        if customer_id is not None:
            equals["customer_id"] = customer_id
        return await self._find(**equals)

    async def page_of_partner(
        self, csp_partner_id: str, customer_id: str | None, page: PageRequest
    ) -> Paged[Invoice]:
        """The partner's documents (optionally one customer's), newest first: issuedAt
        descending, then number descending (`newest_first`). That is the reverse of
        issuing order, the store's insertion order: a document is stamped with the
        business time and numbered inside its unit of work, which holds the store's
        single writer from its start, and business time never goes back. So the store
        pages it (descending), with no sort across pages."""
        equals: dict[str, Any] = {"csp_partner_id": csp_partner_id}
        if customer_id is not None:
            equals["customer_id"] = customer_id
        return await self._find_page(page, descending=True, **equals)
