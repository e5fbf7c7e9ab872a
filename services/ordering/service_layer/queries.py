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
from shared.service_layer import Query


class ListOffers(Query):
    pass


class ListCustomers(Query):
    csp_partner_id: str


class CustomerQuery(Query):
    """About one customer, asked by one partner (who must own it)."""

    csp_partner_id: str
    customer_id: str


class GetCustomer(CustomerQuery):
    pass


class GetCart(CustomerQuery):
    cart_id: str


class ListOrders(CustomerQuery):
    pass


class GetOrder(CustomerQuery):
    order_id: str


class ActivationLinks(CustomerQuery):
    order_id: str
    line_item_number: int | None  # None: the caller named no line item number at all


class ListSubscriptions(CustomerQuery):
    status: str | None = None


class GetSubscription(CustomerQuery):
    subscription_id: str


@dataclass(frozen=True)
class ActivationLink:
    line_item_number: int
    uri: str


async def list_offers(_: ListOffers, uow: OrderingUnitOfWork, catalog: Catalog) -> list[Offer]:
    return list(catalog.offers)


async def list_customers(query: ListCustomers, uow: OrderingUnitOfWork) -> list[Customer]:
    return await uow.customers.list_for_partner(query.csp_partner_id)


async def get_customer(query: GetCustomer, uow: OrderingUnitOfWork) -> Customer:
    return await owned_customer(uow, query)


async def get_cart(query: GetCart, uow: OrderingUnitOfWork) -> Cart:
    return await owned(uow, query, uow.carts, query.cart_id, "cart")


async def list_orders(query: ListOrders, uow: OrderingUnitOfWork) -> list[Order]:
    await owned_customer(uow, query)
    return await uow.orders.list_for_customer(query.customer_id)


async def get_order(query: GetOrder, uow: OrderingUnitOfWork) -> Order:
    return await owned(uow, query, uow.orders, query.order_id, "order")


async def activation_links(
    query: ActivationLinks, uow: OrderingUnitOfWork
) -> list[ActivationLink] | None:
    """None if the order has no such line item; empty until provisioning has issued
    the link for that line's subscription."""
    order = await owned(uow, query, uow.orders, query.order_id, "order")
    number = query.line_item_number
    line = order.line_item(number) if number is not None else None
    if line is None:
        return None
    subscription = await uow.subscriptions.get(line.subscription_id)
    if subscription is None or subscription.activation_link is None:
        return []
    return [ActivationLink(line.line_item_number, subscription.activation_link)]


async def list_subscriptions(
    query: ListSubscriptions, uow: OrderingUnitOfWork
) -> list[Subscription]:
    await owned_customer(uow, query)  # 404 before any 400
    if query.status is not None and query.status not in STATUSES:
        raise RuleBroken(f"status must be one of {', '.join(STATUSES)}", "status")
    return await uow.subscriptions.list_for_customer(query.customer_id, query.status)


async def get_subscription(query: GetSubscription, uow: OrderingUnitOfWork) -> Subscription:
    return await owned(uow, query, uow.subscriptions, query.subscription_id, "subscription")
