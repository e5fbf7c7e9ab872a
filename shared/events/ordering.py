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


# The partner's changes after purchase (PATCH /v1/customers/{cid}/subscriptions/{sid}).
# Ordering decides each against its rules and its view, then asks provisioning, which
# applies them in this topic's order (after the purchase: same key), tells the publisher
# and publishes the resulting facts on provisioning.subscriptions for billing and for
# ordering's view. Every request carries the operation id the publisher will see.


class SubscriptionChangeData(CamelModel):
    subscription_id: str
    operation_id: str  # the publisher-side operation this request becomes
    requested_by: str  # the partner user (token `sub`)
    requested_at: datetime


class SubscriptionDetailsChangedData(SubscriptionChangeData):
    """Nickname, indirect reseller and auto-renew as they now stand (no publisher decision)."""

    friendly_name: str
    reseller_mpn_id: str | None = None
    auto_renew_enabled: bool


class SubscriptionDetailsChanged(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["SubscriptionDetailsChanged"] = "SubscriptionDetailsChanged"
    data: SubscriptionDetailsChangedData


class QuantityChangeRequestedData(SubscriptionChangeData):
    quantity: int  # the seats wanted
    previous_quantity: int


class QuantityChangeRequested(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["QuantityChangeRequested"] = "QuantityChangeRequested"
    data: QuantityChangeRequestedData


class SuspensionRequested(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["SuspensionRequested"] = "SuspensionRequested"
    data: SubscriptionChangeData


class ReinstatementRequested(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["ReinstatementRequested"] = "ReinstatementRequested"
    data: SubscriptionChangeData


class CancellationRequestedData(SubscriptionChangeData):
    """`immediate`: inside the refund window (or never activated): ends now and every
    charge is credited. Otherwise scheduled: auto-renew off, ends at term end, no refund."""

    immediate: bool


class CancellationRequested(Event):
    TOPIC: ClassVar[str] = ORDERING_SUBSCRIPTIONS
    type: Literal["CancellationRequested"] = "CancellationRequested"
    data: CancellationRequestedData
