"""Provisioning's unit of work: the shared one, naming the repositories its handlers use.

The message bus opens it per command or query, saves the subscriptions and operations
that changed and writes their recorded events to the outbox at commit
(docs/architecture.md).
"""

from __future__ import annotations

from services.provisioning.adapters.repositories import (
    OperationRepository,
    SubscriptionRepository,
)
from shared.service_layer import UnitOfWork


class ProvisioningUnitOfWork(UnitOfWork):
    @property
    def subscriptions(self) -> SubscriptionRepository:
        return self.repository(SubscriptionRepository)

    @property
    def operations(self) -> OperationRepository:
        return self.repository(OperationRepository)
