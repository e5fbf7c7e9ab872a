"""SaaS subscriptions in and out of the store, inside the current unit of work.

The generic `shared.service_layer.Repository` loads, adds and tracks them; this adds
the finders the publisher API needs (docs/architecture.md, "The shape of a service").
"""

from __future__ import annotations

from services.provisioning.domain.model import SaasSubscription
from shared.service_layer import Paged, PageRequest, Repository


class SubscriptionRepository(Repository[SaasSubscription]):
    model = SaasSubscription

    async def for_publisher(self, publisher_id: str) -> list[SaasSubscription]:
        """Every subscription of one publisher, oldest first."""
        return await self._find(publisher_id=publisher_id)

    async def page_for_publisher(
        self, publisher_id: str, page: PageRequest
    ) -> Paged[SaasSubscription]:
        """One page of `for_publisher`."""
        return await self._find_page(page, publisher_id=publisher_id)
