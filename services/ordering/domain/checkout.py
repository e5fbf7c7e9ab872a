"""Checkout: a cart becomes one order and one pending subscription per line item,
each subscription recording SubscriptionPurchased (the facts provisioning and
billing need). Ids come from the caller: the domain generates none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.ordering.domain.cart_rules import PricedItem, price_line_item
from services.ordering.domain.model import Cart, CartLineItem, Customer, Order, order_line
from services.ordering.domain.subscription import Subscription
from shared.catalog import Catalog
from shared.errors import Conflict, RuleBroken
from shared.money import to_minor
from shared.periods import add


@dataclass(frozen=True)
class Buyer:
    csp_partner_id: str  # token claim `partnerId`
    user_id: str  # token `sub`


@dataclass(frozen=True)
class LineIds:
    subscription_id: str
    correlation_id: str  # the purchase starts a correlation: every later event carries it


@dataclass(frozen=True)
class Placement:
    order: Order
    subscriptions: list[Subscription]


def refundable_until(priced: PricedItem, cycle: str, purchased_at: datetime) -> datetime:
    window = priced.offer.cancellation_window
    return add(purchased_at, window.monthly if cycle == "monthly" else window.annual)


def place_order(
    *,
    cart: Cart,
    customer: Customer,
    catalog: Catalog,
    buyer: Buyer,
    order_id: str,
    line_ids: Sequence[LineIds],  # one per cart line item
    now: datetime,
) -> Placement:
    """Checks the cart out. Raises Conflict for a cart already checked out, or when the
    catalog no longer sells a line item (the cart was valid when made); the caller
    then does not commit, so nothing is placed."""
    cart.check_out(order_id)
    subscriptions = [
        _purchase(
            item,
            number,
            _still_sold(catalog, item, number),
            customer=customer,
            buyer=buyer,
            order_id=order_id,
            ids=ids,
            now=now,
        )
        for number, (item, ids) in enumerate(zip(cart.line_items, line_ids, strict=True))
    ]
    lines = zip(cart.line_items, subscriptions, strict=True)
    order = Order(
        id=order_id,
        customer_id=customer.id,
        cart_id=cart.id,
        creation_date=now,
        line_items=tuple(order_line(item, s.line_item_number, s.id) for item, s in lines),
    )
    return Placement(order, subscriptions)


def _still_sold(catalog: Catalog, item: CartLineItem, number: int) -> PricedItem:
    try:
        return price_line_item(catalog, item, f"lineItems[{number}]")
    except RuleBroken as gone:
        raise Conflict(f"the catalog no longer sells this: {gone.message}", gone.target) from gone


def _purchase(
    item: CartLineItem,
    number: int,
    priced: PricedItem,
    *,
    customer: Customer,
    buyer: Buyer,
    order_id: str,
    ids: LineIds,
    now: datetime,
) -> Subscription:
    currency = priced.plan.currency
    subscription = Subscription(
        **item.model_dump(exclude={"id"}),
        id=ids.subscription_id,
        correlation_id=ids.correlation_id,
        csp_partner_id=buyer.csp_partner_id,
        customer_id=customer.id,
        order_id=order_id,
        line_item_number=number,
        publisher_id=priced.offer.publisher_id,
        currency=currency,
        price_per_seat_minor=to_minor(priced.price.price_per_seat, currency),
        creation_date=now,
        refundable_until=refundable_until(priced, item.billing_cycle, now),
    )
    subscription.record_purchase(
        customer_name=customer.company_name,
        purchased_by=buyer.user_id,
        offer_name=priced.offer.name,
        plan_name=priced.plan.name,
    )
    return subscription
