"""Carts: validated against the catalog when made, checked out once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog

from services.ordering.adapters.repositories import (
    CartRepository,
    OrderRepository,
    SubscriptionRepository,
)
from services.ordering.domain.cart_rules import LineItemDraft, validate_line_items
from services.ordering.domain.checkout import Buyer, place_order
from services.ordering.domain.errors import NotFound
from services.ordering.domain.model import Cart, Order
from services.ordering.service_layer.customers import owned_customer
from shared.catalog import Catalog
from shared.messaging.outbox import emit
from shared.store.port import UnitOfWork

log = structlog.get_logger(__name__)


async def create_cart(
    uow: UnitOfWork,
    *,
    csp_partner_id: str,
    customer_id: str,
    drafts: Sequence[LineItemDraft],
    catalog: Catalog,
    now: datetime,
) -> Cart:
    await owned_customer(uow, csp_partner_id, customer_id)
    cart = Cart(
        id=str(uuid.uuid4()),
        customer_id=customer_id,
        status="active",
        creation_date=now,
        line_items=tuple(validate_line_items(catalog, drafts)),
    )
    await CartRepository(uow).add(cart)
    await uow.commit()
    return cart


async def get_cart(uow: UnitOfWork, csp_partner_id: str, customer_id: str, cart_id: str) -> Cart:
    await owned_customer(uow, csp_partner_id, customer_id)
    cart = await CartRepository(uow).get(cart_id)
    if cart is None or cart.customer_id != customer_id:
        raise NotFound(f"cart {cart_id} not found")
    return cart


async def checkout(
    uow: UnitOfWork,
    *,
    buyer: Buyer,
    customer_id: str,
    cart_id: str,
    catalog: Catalog,
    now: datetime,
) -> Order:
    """Order, subscriptions, the cart's new status and one SubscriptionPurchased per
    line commit together; any failure leaves no trace and emits nothing."""
    customer = await owned_customer(uow, buyer.csp_partner_id, customer_id)
    cart = await get_cart(uow, buyer.csp_partner_id, customer_id, cart_id)
    placed = place_order(cart=cart, customer=customer, catalog=catalog, buyer=buyer, now=now)
    await CartRepository(uow).save(placed.cart)
    await OrderRepository(uow).add(placed.order)
    subscriptions = SubscriptionRepository(uow)
    for subscription in placed.subscriptions:
        await subscriptions.add(subscription)
    for event in placed.events:
        emit(uow, event)
    await uow.commit()
    log.info(
        "order_placed",
        order_id=placed.order.id,
        cart_id=cart_id,
        customer_id=customer_id,
        subscription_ids=[s.id for s in placed.subscriptions],
    )
    return placed.order
