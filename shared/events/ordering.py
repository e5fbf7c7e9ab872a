"""Events the ordering service publishes on `ordering.subscriptions`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from shared.events.envelope import CamelModel, Event
from shared.events.topics import ORDERING_SUBSCRIPTIONS


class SubscriptionPurchasedData(CamelModel):
    """Everything downstream needs to provision and bill one order line."""

    subscription_id: str
    order_id: str
    line_item_number: int
    csp_partner_id: str  # the CSP partner who bought (token claim `partnerId`)
    customer_id: str
    customer_name: str
    purchased_by: str  # the partner user (token `sub`)
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: Literal["P1M", "P1Y"]
    billing_cycle: Literal["monthly", "annual"]
    currency: str
    price_per_seat: Decimal  # per billing period, locked at purchase
    friendly_name: str
    reseller_mpn_id: str | None = None  # indirect reseller's MPN ID ("partnerId" in the API)
    auto_renew_enabled: bool = True
    purchased_at: datetime
    refundable_until: datetime


class SubscriptionPurchased(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["SubscriptionPurchased"] = "SubscriptionPurchased"
    data: SubscriptionPurchasedData
