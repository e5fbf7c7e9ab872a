"""Typed access to SaaS subscriptions stored as documents in the unit of work."""

from __future__ import annotations

from services.provisioning.domain.model import SaasSubscription
from shared.store.port import UnitOfWork

COLLECTION = "saas_subscriptions"


class SubscriptionRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self._docs = uow.collection(COLLECTION)

    async def get(self, subscription_id: str) -> SaasSubscription | None:
        doc = await self._docs.get(subscription_id)
        return None if doc is None else SaasSubscription.model_validate(doc)

    async def add(self, subscription: SaasSubscription) -> None:
        """Raises shared.store.port.DuplicateKey when the id exists."""
        await self._docs.insert(subscription.id, subscription.model_dump(mode="json"))

    async def save(self, subscription: SaasSubscription) -> None:
        await self._docs.put(subscription.id, subscription.model_dump(mode="json"))

    async def for_publisher(self, publisher_id: str) -> list[SaasSubscription]:
        docs = await self._docs.find(publisher_id=publisher_id)
        return [SaasSubscription.model_validate(doc) for doc in docs]
