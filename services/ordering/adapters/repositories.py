"""Typed repositories: domain models in, domain models out, JSON documents in between.

Each works inside the caller's unit of work, so a use case's writes (and the
outbox rows it emits) commit or roll back together.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from services.ordering.domain.model import Cart, Customer, Entity, Order
from services.ordering.domain.subscription import Subscription
from shared.store.port import UnitOfWork

M = TypeVar("M", bound=Entity)


class _Repository(Generic[M]):
    collection: str
    model: type[M]

    def __init__(self, uow: UnitOfWork) -> None:
        self._docs = uow.collection(self.collection)

    async def add(self, item: M) -> None:
        await self._docs.insert(item.id, item.model_dump(mode="json"))

    async def save(self, item: M) -> None:
        await self._docs.put(item.id, item.model_dump(mode="json"))

    async def get(self, key: str) -> M | None:
        doc = await self._docs.get(key)
        return None if doc is None else self.model.model_validate(doc)

    async def _find(self, **equals: Any) -> list[M]:
        return [self.model.model_validate(doc) for doc in await self._docs.find(**equals)]


class CustomerRepository(_Repository[Customer]):
    collection = "customers"
    model = Customer

    async def list_for_partner(self, csp_partner_id: str) -> list[Customer]:
        return await self._find(csp_partner_id=csp_partner_id)


class CartRepository(_Repository[Cart]):
    collection = "carts"
    model = Cart


class OrderRepository(_Repository[Order]):
    collection = "orders"
    model = Order

    async def list_for_customer(self, customer_id: str) -> list[Order]:
        return await self._find(customer_id=customer_id)


class SubscriptionRepository(_Repository[Subscription]):
    collection = "subscriptions"
    model = Subscription

    async def list_for_customer(
        self, customer_id: str, status: str | None = None
    ) -> list[Subscription]:
        if status is None:
            return await self._find(customer_id=customer_id)
        return await self._find(customer_id=customer_id, status=status)
