"""SaaS subscriptions in and out of the store, inside the current unit of work.

The generic `shared.service_layer.Repository` loads, adds and tracks them; this adds
the one finder the publisher API needs (docs/architecture.md, "The shape of a service").
"""

from __future__ import annotations

from services.provisioning.domain.model import SaasSubscription
from shared.service_layer import Repository


class SubscriptionRepository(Repository[SaasSubscription]):
    model = SaasSubscription

    async def for_publisher(self, publisher_id: str) -> list[SaasSubscription]:
        """Every subscription of one publisher, oldest first."""
        return await self._find(publisher_id=publisher_id)
