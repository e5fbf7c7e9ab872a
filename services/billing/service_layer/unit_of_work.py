"""Billing's unit of work: the shared one, naming billing's repositories."""

from __future__ import annotations

from services.billing.adapters.repositories import (
    InvoiceRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from shared.service_layer import UnitOfWork


class BillingUnitOfWork(UnitOfWork):
    @property
    def subscriptions(self) -> SubscriptionRepository:
        return self.repository(SubscriptionRepository)

    @property
    def ledger(self) -> LedgerRepository:
        return self.repository(LedgerRepository)

    @property
    def invoices(self) -> InvoiceRepository:
        return self.repository(InvoiceRepository)
