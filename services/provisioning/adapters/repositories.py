"""SaaS subscriptions and their operations in and out of the store, inside the current
unit of work.

The generic `shared.service_layer.Repository` loads, adds and tracks them; this adds
the finders the publisher API and the due work need (docs/architecture.md, "The shape
of a service"). The due work's finders read only candidates, never every document:
equality on a stored field (`delivery_state`, `status`), or a range on a due time.
"""

from __future__ import annotations

from datetime import datetime

from services.provisioning.domain.model import SaasSubscription
from services.provisioning.domain.operations import Operation
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

    async def terms_ended_by(self, now: datetime, limit: int) -> list[SaasSubscription]:
        """Those whose term ended by `now`, the earliest end first (`SaasSubscription.
        due_times`)."""
        return await self._find_due("term_ends_at", now, limit)


class OperationRepository(Repository[Operation]):
    model = Operation

    async def for_subscription(self, subscription_id: str) -> list[Operation]:
        """Oldest first (insertion order: the order the publisher hears of them)."""
        return await self._find(subscription_id=subscription_id)

    async def in_progress_for(self, subscription_id: str) -> list[Operation]:
        """The subscription's operations still waiting for the publisher, oldest first."""
        return await self._find(subscription_id=subscription_id, status="InProgress")

    async def in_progress(self) -> list[Operation]:
        """Every operation still waiting for the publisher, oldest first."""
        return await self._find(status="InProgress")

    async def undelivered(self) -> list[Operation]:
        """Every operation whose webhook is still to be delivered, oldest first."""
        return await self._find(delivery_state="pending")
