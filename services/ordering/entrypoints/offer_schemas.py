"""The catalog as partners see it: offers, plans and prices (no publisher webhooks)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, field_validator

from services.ordering.entrypoints.schemas import Out
from shared.catalog import Price
from shared.money import format_money, to_minor


class PriceOut(Out):
    term_duration: str
    billing_cycle: str
    price_per_seat: str  # decimal string with the currency's minor digits


class PlanOut(Out):
    plan_id: str
    name: str
    currency: str
    min_quantity: int
    max_quantity: int
    prices: list[PriceOut]

    @field_validator("prices", mode="before")
    @classmethod
    def _in_currency(cls, prices: list[Any], info: ValidationInfo) -> list[Any]:
        currency = info.data["currency"]
        return [_price(p, currency) if isinstance(p, Price) else p for p in prices]


def _price(price: Price, currency: str) -> PriceOut:
    amount = format_money(to_minor(price.price_per_seat, currency), currency)
    return PriceOut(**price.model_dump(exclude={"price_per_seat"}), price_per_seat=amount)


class CancellationWindowOut(Out):
    monthly: str
    annual: str


class OfferOut(Out):
    """No publisher webhook details: partners never see those."""

    offer_id: str
    publisher_id: str
    name: str
    cancellation_window: CancellationWindowOut
    plans: list[PlanOut]
