"""What billing remembers of a subscription: enough to price any of its periods.

Billing keeps its own copy (services never read each other's stores); later events
(seat changes, renewals, suspension) update it and price against it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from services.billing.domain.billing_period import (
    Period,
    UtcDatetime,
    billing_period,
    billing_period_duration,
)
from shared.domain import Aggregate
from shared.errors import RuleBroken
from shared.money import minor_digits


class InvalidSubscription(RuleBroken):
    """The facts billing was given cannot be billed (a broken upstream invariant);
    a consumer dead-letters the event that carried them."""


class BilledSubscription(Aggregate):
    COLLECTION: ClassVar[str] = "subscriptions"

    customer_id: str
    csp_partner_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    currency: str
    price_per_seat: int  # minor units, per billing period
    quantity: int
    term_duration: str  # "P1M" | "P1Y"
    billing_cycle: str  # "monthly" | "annual"
    term_start: UtcDatetime
    term_end: UtcDatetime  # exclusive: the term is [term_start, term_end)
    auto_renew_enabled: bool
    correlation_id: str  # the purchase that started it; carried by what billing emits

    @model_validator(mode="after")
    def _billable(self) -> BilledSubscription:
        # InvalidSubscription is no ValueError, so pydantic lets it through unwrapped.
        try:
            minor_digits(self.currency)
            billing_period_duration(self.billing_cycle)
        except ValueError as error:
            raise InvalidSubscription(str(error)) from error
        if self.quantity < 1:
            raise InvalidSubscription(f"quantity must be at least 1, got {self.quantity}")
        if self.price_per_seat < 0:
            raise InvalidSubscription(f"price per seat is negative: {self.price_per_seat}")
        if self.term_end <= self.term_start:
            raise InvalidSubscription("term ends before or as it starts")
        return self

    def first_period(self) -> Period:
        return billing_period(self.term_start, self.billing_cycle, self.term_end)

    def period_price(self) -> int:
        """Price of one full billing period for the current quantity, in minor units."""
        return self.quantity * self.price_per_seat
