"""Checkout: a cart becomes one order, one pending subscription per line item, and
one SubscriptionPurchased event per line (the facts provisioning and billing need)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.ordering.domain.cart_rules import PricedItem, price_line_item
from services.ordering.domain.errors import Conflict, InvalidInput
from services.ordering.domain.model import Cart, CartLineItem, Customer, Order, OrderLineItem
from services.ordering.domain.subscription import Subscription
from shared.catalog import Catalog
from shared.events.ordering import SubscriptionPurchased, SubscriptionPurchasedData
from shared.money import from_minor, to_minor
from shared.periods import add

SOURCE = "ordering"


@dataclass(frozen=True)
class Buyer:
    csp_partner_id: str  # token claim `partnerId`
    user_id: str  # token `sub`


@dataclass(frozen=True)
class Placement:
    cart: Cart  # now `ordered`
    order: Order
    subscriptions: list[Subscription]
    events: list[SubscriptionPurchased]


def _new_id() -> str:
    return str(uuid.uuid4())


def refundable_until(priced: PricedItem, cycle: str, purchased_at: datetime) -> datetime:
    window = priced.offer.cancellation_window
    return add(purchased_at, window.monthly if cycle == "monthly" else window.annual)


def place_order(
    *, cart: Cart, customer: Customer, catalog: Catalog, buyer: Buyer, now: datetime
) -> Placement:
    """Raises Conflict for a cart already checked out, or when the catalog no longer
    sells a line item (the cart was valid when made; nothing is placed then)."""
    order_id = _new_id()
    ordered_cart = cart.checked_out(order_id)
    lines: list[OrderLineItem] = []
    subscriptions: list[Subscription] = []
    events: list[SubscriptionPurchased] = []
    for number, item in enumerate(cart.line_items):
        try:
            priced = price_line_item(catalog, item, f"lineItems[{number}]")
        except InvalidInput as gone:
            message = f"the catalog no longer sells this: {gone.message}"
            raise Conflict(message, gone.target) from gone
        subscription, event = _purchase(item, number, priced, customer, order_id, buyer, now)
        lines.append(
            OrderLineItem(
                line_item_number=number,
                offer_id=item.offer_id,
                plan_id=item.plan_id,
                subscription_id=subscription.id,
                quantity=item.quantity,
                term_duration=item.term_duration,
                billing_cycle=item.billing_cycle,
                friendly_name=item.friendly_name,
                partner_id_on_record=item.reseller_mpn_id,
            )
        )
        subscriptions.append(subscription)
        events.append(event)
    order = Order(
        id=order_id,
        customer_id=customer.id,
        cart_id=cart.id,
        creation_date=now,
        line_items=tuple(lines),
    )
    return Placement(ordered_cart, order, subscriptions, events)


def _purchase(
    item: CartLineItem,
    number: int,
    priced: PricedItem,
    customer: Customer,
    order_id: str,
    buyer: Buyer,
    now: datetime,
) -> tuple[Subscription, SubscriptionPurchased]:
    currency = priced.plan.currency
    price_minor = to_minor(priced.price.price_per_seat, currency)
    event_id = uuid.uuid4()  # the purchase starts the correlation: its own id
    subscription = Subscription(
        id=_new_id(),
        csp_partner_id=buyer.csp_partner_id,
        customer_id=customer.id,
        order_id=order_id,
        line_item_number=number,
        offer_id=item.offer_id,
        plan_id=item.plan_id,
        publisher_id=priced.offer.publisher_id,
        friendly_name=item.friendly_name,
        quantity=item.quantity,
        auto_renew_enabled=item.auto_renew_enabled,
        reseller_mpn_id=item.reseller_mpn_id,
        term_duration=item.term_duration,
        billing_cycle=item.billing_cycle,
        currency=currency,
        price_per_seat_minor=price_minor,
        creation_date=now,
        refundable_until=refundable_until(priced, item.billing_cycle, now),
        correlation_id=str(event_id),
    )
    event = SubscriptionPurchased(
        id=event_id,
        source=SOURCE,
        time=now,
        subject=subscription.id,
        correlation_id=str(event_id),
        causation_id=None,
        data=SubscriptionPurchasedData(
            subscription_id=subscription.id,
            order_id=order_id,
            line_item_number=number,
            csp_partner_id=buyer.csp_partner_id,
            customer_id=customer.id,
            customer_name=customer.company_name,
            purchased_by=buyer.user_id,
            publisher_id=priced.offer.publisher_id,
            offer_id=priced.offer.offer_id,
            offer_name=priced.offer.name,
            plan_id=priced.plan.plan_id,
            plan_name=priced.plan.name,
            quantity=item.quantity,
            term_duration=item.term_duration,
            billing_cycle=item.billing_cycle,
            currency=currency,
            price_per_seat=from_minor(price_minor, currency),
            friendly_name=item.friendly_name,
            reseller_mpn_id=item.reseller_mpn_id,
            auto_renew_enabled=item.auto_renew_enabled,
            purchased_at=now,
            refundable_until=subscription.refundable_until,
        ),
    )
    return subscription, event
