"""The catalog file (`CSP_CATALOG`): publishers, offers, plans, prices per billing period."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shared.money import to_minor

TermDuration = Literal["P1M", "P1Y"]
BillingCycle = Literal["monthly", "annual"]


class _CatalogModel(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class Publisher(_CatalogModel):
    id: str
    name: str
    webhook_url: str
    webhook_secret: str
    landing_page_url: str


class Price(_CatalogModel):
    term_duration: TermDuration
    billing_cycle: BillingCycle
    price_per_seat: Decimal = Field(ge=0)  # per billing period


class Plan(_CatalogModel):
    plan_id: str
    name: str
    currency: str
    min_quantity: int = Field(default=1, ge=1)
    max_quantity: int = Field(default=10_000, ge=1)
    prices: list[Price]

    @model_validator(mode="after")
    def _prices_fit_currency(self) -> Plan:
        for price in self.prices:
            to_minor(price.price_per_seat, self.currency)  # raises on bad currency/digits
        if self.min_quantity > self.max_quantity:
            raise ValueError(f"plan {self.plan_id}: minQuantity > maxQuantity")
        return self

    def price_for(self, term: str, cycle: str) -> Price | None:
        return next(
            (p for p in self.prices if p.term_duration == term and p.billing_cycle == cycle),
            None,
        )


class CancellationWindow(_CatalogModel):
    monthly: str = "PT24H"
    annual: str = "P14D"


class Offer(_CatalogModel):
    offer_id: str
    publisher_id: str
    name: str
    cancellation_window: CancellationWindow = CancellationWindow()
    # How long the publisher may take to answer a ChangeQuantity / ChangePlan webhook
    # before silence counts as acceptance (SaaS Fulfillment webhook docs: 10 s).
    acceptance_timeout: str = "PT10S"
    plans: list[Plan]

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.plan_id == plan_id), None)


class Catalog(_CatalogModel):
    publishers: list[Publisher]
    offers: list[Offer]

    @model_validator(mode="after")
    def _offers_name_known_publishers(self) -> Catalog:
        known = {p.id for p in self.publishers}
        for offer in self.offers:
            if offer.publisher_id not in known:
                raise ValueError(f"offer {offer.offer_id}: unknown publisher {offer.publisher_id}")
        return self

    def offer(self, offer_id: str) -> Offer | None:
        return next((o for o in self.offers if o.offer_id == offer_id), None)

    def publisher(self, publisher_id: str) -> Publisher | None:
        return next((p for p in self.publishers if p.id == publisher_id), None)
