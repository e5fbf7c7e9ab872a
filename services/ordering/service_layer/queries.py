"""The read side of the partner API: query types and their handlers.

Queries run on the store's read side and never commit. Everything about a customer
is scoped to the caller's partner (`scope.py`): another partner's customer, and all
under it, is not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ordering.domain.model import Cart, Customer, Order
from services.ordering.domain.subscription import STATUSES, Subscription
from services.ordering.service_layer.scope import owned, owned_customer
from services.ordering.service_layer.unit_of_work import OrderingUnitOfWork
from shared.catalog import Catalog, Offer
from shared.errors import RuleBroken
from shared.service_layer import Paged, PageRequest, Query, page_of


class ListOffers(Query):
    page: PageRequest = PageRequest()


class ListCustomers(Query):
    csp_partner_id: str
    page: PageRequest = PageRequest()


class CustomerQuery(Query):
    """About one customer, asked by one partner (who must own it)."""

    csp_partner_id: str
    customer_id: str


class GetCustomer(CustomerQuery):
    pass


class GetCart(CustomerQuery):
    cart_id: str


class ListOrders(CustomerQuery):
    page: PageRequest = PageRequest()


class GetOrder(CustomerQuery):
    order_id: str


class ActivationLinks(CustomerQuery):
    order_id: str
    line_item_number: int | None  # None: the caller named no line item number at all
    page: PageRequest = PageRequest()


class ListSubscriptions(CustomerQuery):
    status: str | None = None
    page: PageRequest = PageRequest()


class GetSubscription(CustomerQuery):
    subscription_id: str


@dataclass(frozen=True)
class ActivationLink:
    line_item_number: int
    uri: str


async def list_offers(query: ListOffers, uow: OrderingUnitOfWork, catalog: Catalog) -> Paged[Offer]:
    """The catalog is held in memory: paged there, in catalog order."""
    return page_of(catalog.offers, query.page)


async def list_customers(query: ListCustomers, uow: OrderingUnitOfWork) -> Paged[Customer]:
    return await uow.customers.page_for_partner(query.csp_partner_id, query.page)


async def get_customer(query: GetCustomer, uow: OrderingUnitOfWork) -> Customer:
    return await owned_customer(uow, query)


async def get_cart(query: GetCart, uow: OrderingUnitOfWork) -> Cart:
    return await owned(uow, query, uow.carts, query.cart_id, "cart")


async def list_orders(query: ListOrders, uow: OrderingUnitOfWork) -> Paged[Order]:
    await owned_customer(uow, query)
    return await uow.orders.page_for_customer(query.customer_id, query.page)


async def get_order(query: GetOrder, uow: OrderingUnitOfWork) -> Order:
    return await owned(uow, query, uow.orders, query.order_id, "order")


async def activation_links(
    query: ActivationLinks, uow: OrderingUnitOfWork
) -> Paged[ActivationLink] | None:
    """None if the order has no such line item; empty until provisioning has issued
    the link for that line's subscription (at most one link: paged in memory)."""
    order = await owned(uow, query, uow.orders, query.order_id, "order")
    number = query.line_item_number
    line = order.line_item(number) if number is not None else None
    if line is None:
        return None
    subscription = await uow.subscriptions.get(line.subscription_id)
    links = []
    if subscription is not None and subscription.activation_link is not None:
        links.append(ActivationLink(line.line_item_number, subscription.activation_link))
    return page_of(links, query.page)


async def list_subscriptions(
    query: ListSubscriptions, uow: OrderingUnitOfWork
) -> Paged[Subscription]:
    await owned_customer(uow, query)  # 404 before any 400
    if query.status is not None and query.status not in STATUSES:
        raise RuleBroken(f"status must be one of {', '.join(STATUSES)}", "status")
    return await uow.subscriptions.page_for_customer(query.customer_id, query.status, query.page)


async def get_subscription(query: GetSubscription, uow: OrderingUnitOfWork) -> Subscription:
    return await owned(uow, query, uow.subscriptions, query.subscription_id, "subscription")
