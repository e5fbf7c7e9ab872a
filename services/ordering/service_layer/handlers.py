"""Ordering's command handlers for the partner API: customers, carts, checkout, and
the partner's changes to a subscription.

Each runs inside the unit of work the message bus opened and commits for it: the
handler changes or adds aggregates, the commit saves them and writes the events
they recorded to the outbox, so a failure leaves no trace and emits nothing.
"""

from __future__ import annotations

import uuid

import structlog

from services.ordering.domain.cart_rules import validate_line_items
from services.ordering.domain.checkout import Buyer, LineIds, place_order
from services.ordering.domain.commands import (
    ChangeSubscription,
    Checkout,
    CreateCart,
    CreateCustomer,
)
from services.ordering.domain.model import Cart, Customer, Order
from services.ordering.domain.subscription import Subscription
from services.ordering.domain.subscription_changes import ChangeRequest
from services.ordering.service_layer.scope import owned, owned_customer
from services.ordering.service_layer.unit_of_work import OrderingUnitOfWork
from shared.catalog import Catalog

log = structlog.get_logger(__name__)


def new_id() -> str:
    return str(uuid.uuid4())


async def create_customer(command: CreateCustomer, uow: OrderingUnitOfWork) -> Customer:
    customer = Customer.register(
        id=new_id(),
        csp_partner_id=command.csp_partner_id,
        company_name=command.company_name,
        domain=command.domain,
        now=uow.clock.now(),
    )
    return await uow.customers.add(customer)


async def create_cart(command: CreateCart, uow: OrderingUnitOfWork, catalog: Catalog) -> Cart:
    """Line items are checked against the catalog now, and again at checkout."""
    await owned_customer(uow, command)
    cart = Cart(
        id=new_id(),
        customer_id=command.customer_id,
        creation_date=uow.clock.now(),
        line_items=tuple(validate_line_items(catalog, command.line_items)),
    )
    return await uow.carts.add(cart)


async def checkout(command: Checkout, uow: OrderingUnitOfWork, catalog: Catalog) -> Order:
    """The cart's new status, the order, its subscriptions and one SubscriptionPurchased
    per line commit together (docs/architecture.md, steps 1 to 3)."""
    customer = await owned_customer(uow, command)
    cart = await owned(uow, command, uow.carts, command.cart_id, "cart")
    placed = place_order(
        cart=cart,
        customer=customer,
        catalog=catalog,
        buyer=Buyer(command.csp_partner_id, command.user_id),
        order_id=new_id(),
        line_ids=[LineIds(new_id(), new_id()) for _ in cart.line_items],
        now=uow.clock.now(),
    )
    await uow.orders.add(placed.order)
    for subscription in placed.subscriptions:
        await uow.subscriptions.add(subscription)
    uow.after_commit(
        lambda: log.info(
            "order_placed",
            order_id=placed.order.id,
            cart_id=cart.id,
            customer_id=customer.id,
            subscription_ids=[s.id for s in placed.subscriptions],
        )
    )
    return placed.order


async def change_subscription(
    command: ChangeSubscription, uow: OrderingUnitOfWork, catalog: Catalog
) -> Subscription:
    """Ordering decides (docs/subscription-lifecycle.md): the subscription changes at
    once, or not at all, and each request it records reaches provisioning through the
    outbox in the same commit. Answers the subscription as it now stands."""
    subscription = await owned(
        uow, command, uow.subscriptions, command.subscription_id, "subscription"
    )
    offer = catalog.offer(subscription.offer_id)
    plan = offer.plan(subscription.plan_id) if offer is not None else None
    request = ChangeRequest(
        requested_by=command.user_id,
        requested_at=uow.clock.now(),
        new_operation_id=new_id,  # one fresh id per request event
    )
    subscription.change(command.changes, plan, request)
    requested = [type(event).__name__ for event in subscription.events]
    uow.after_commit(
        lambda: log.info(
            "subscription_changed",
            subscription_id=subscription.id,
            fields=command.changes.named,
            requested=requested,
            status=subscription.status,
        )
    )
    return subscription
