"""Ordering's unit of work: the shared one, naming ordering's repositories.

The message bus opens it per command or query and commits it for a command; at that
commit the changed aggregates are saved and their recorded events reach the outbox
through `adapters/wire_events.py` (docs/architecture.md, "One way per concern").
"""

from __future__ import annotations

from services.ordering.adapters.repositories import (
    CartRepository,
    CustomerRepository,
    OrderRepository,
    SubscriptionRepository,
)
from shared.service_layer import UnitOfWork


class OrderingUnitOfWork(UnitOfWork):
    @property
    def customers(self) -> CustomerRepository:
        return self.repository(CustomerRepository)

    @property
    def carts(self) -> CartRepository:
        return self.repository(CartRepository)

    @property
    def orders(self) -> OrderRepository:
        return self.repository(OrderRepository)

    @property
    def subscriptions(self) -> SubscriptionRepository:
        return self.repository(SubscriptionRepository)
