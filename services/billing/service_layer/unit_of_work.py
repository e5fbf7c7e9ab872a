"""Billing's unit of work: the shared one, naming billing's repositories and making
sure the store enforces billing's unique indexes before anything is written."""

from __future__ import annotations

from services.billing.adapters.repositories import (
    INDEXES,
    InvoiceRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from shared.service_layer import UnitOfWork


class BillingUnitOfWork(UnitOfWork):
    async def __aenter__(self) -> BillingUnitOfWork:
        # Idempotent and free once done; here rather than at start-up so that every
        # path that writes billing's documents (the service, a test, a script) has them.
        if not self.read_only:
            await self._store.ensure_indexes(INDEXES)
        await super().__aenter__()
        return self

    @property
    def subscriptions(self) -> SubscriptionRepository:
        return self.repository(SubscriptionRepository)

    @property
    def ledger(self) -> LedgerRepository:
        return self.repository(LedgerRepository)

    @property
    def invoices(self) -> InvoiceRepository:
        return self.repository(InvoiceRepository)
