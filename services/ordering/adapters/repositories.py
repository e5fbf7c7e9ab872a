"""Ordering's aggregates in and out of the store: the shared generic repository plus
the finders ordering's reads need. Saving and emitting are the unit of work's job
(`shared/service_layer/unit_of_work.py`), so there is no `save` here."""

from __future__ import annotations

from services.ordering.domain.model import Cart, Customer, Order
from services.ordering.domain.subscription import Subscription
from shared.service_layer import Paged, PageRequest, Repository


class CustomerRepository(Repository[Customer]):
    model = Customer

    async def page_for_partner(self, csp_partner_id: str, page: PageRequest) -> Paged[Customer]:
        """The partner's customers, oldest first."""
        return await self._find_page(page, csp_partner_id=csp_partner_id)


class CartRepository(Repository[Cart]):
    model = Cart


class OrderRepository(Repository[Order]):
    model = Order

    async def page_for_customer(self, customer_id: str, page: PageRequest) -> Paged[Order]:
        """The customer's orders, oldest first."""
        return await self._find_page(page, customer_id=customer_id)


class SubscriptionRepository(Repository[Subscription]):
    model = Subscription

    async def page_for_customer(
        self, customer_id: str, status: str | None, page: PageRequest
    ) -> Paged[Subscription]:
        """The customer's subscriptions (only those in `status`, if given), oldest first."""
        by_status = {} if status is None else {"status": status}
        return await self._find_page(page, customer_id=customer_id, **by_status)
