"""Read side of the partner API: always scoped to a customer the caller's partner owns."""

from __future__ import annotations

from dataclasses import dataclass

from services.ordering.adapters.repositories import OrderRepository, SubscriptionRepository
from services.ordering.domain.errors import InvalidInput, NotFound
from services.ordering.domain.model import Order
from services.ordering.domain.subscription import STATUSES, Subscription
from services.ordering.service_layer.customers import owned_customer
from shared.store.port import UnitOfWork


@dataclass(frozen=True)
class ActivationLink:
    line_item_number: int
    uri: str


async def get_order(uow: UnitOfWork, csp_partner_id: str, customer_id: str, order_id: str) -> Order:
    await owned_customer(uow, csp_partner_id, customer_id)
    order = await OrderRepository(uow).get(order_id)
    if order is None or order.customer_id != customer_id:
        raise NotFound(f"order {order_id} not found")
    return order


async def list_orders(uow: UnitOfWork, csp_partner_id: str, customer_id: str) -> list[Order]:
    await owned_customer(uow, csp_partner_id, customer_id)
    return await OrderRepository(uow).list_for_customer(customer_id)


async def activation_links(
    uow: UnitOfWork, csp_partner_id: str, customer_id: str, order_id: str, line_item: str
) -> list[ActivationLink]:
    """Empty until provisioning has issued the link for that line's subscription."""
    order = await get_order(uow, csp_partner_id, customer_id, order_id)
    number = int(line_item) if line_item.isdecimal() and line_item.isascii() else None
    line = order.line_item(number) if number is not None else None
    if line is None:
        raise NotFound(f"order {order_id} has no line item {line_item}")
    subscription = await SubscriptionRepository(uow).get(line.subscription_id)
    if subscription is None or subscription.activation_link is None:
        return []
    return [ActivationLink(line.line_item_number, subscription.activation_link)]


async def list_subscriptions(
    uow: UnitOfWork, csp_partner_id: str, customer_id: str, status: str | None = None
) -> list[Subscription]:
    await owned_customer(uow, csp_partner_id, customer_id)  # 404 before any 400
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", "status")
    return await SubscriptionRepository(uow).list_for_customer(customer_id, status)


async def get_subscription(
    uow: UnitOfWork, csp_partner_id: str, customer_id: str, subscription_id: str
) -> Subscription:
    await owned_customer(uow, csp_partner_id, customer_id)
    subscription = await SubscriptionRepository(uow).get(subscription_id)
    if subscription is None or subscription.customer_id != customer_id:
        raise NotFound(f"subscription {subscription_id} not found")
    return subscription
