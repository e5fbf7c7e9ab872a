"""Customers, carts and orders as the partner sees them.

Plain frozen pydantic models: changes return a new value, so the rules stay pure
and the repositories can store `model_dump(mode="json")` as a document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.ordering.domain.errors import Conflict

TermDuration = Literal["P1M", "P1Y"]
BillingCycle = Literal["monthly", "annual"]


class DomainModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class Entity(DomainModel):
    """Anything stored under its own id."""

    id: str


class Customer(Entity):
    csp_partner_id: str  # the partner that owns this customer; nobody else sees it
    company_name: str
    domain: str | None
    creation_date: datetime


class CartLineItem(DomainModel):
    id: int  # the index in the cart, as in Partner Center
    offer_id: str
    plan_id: str
    quantity: int
    term_duration: TermDuration
    billing_cycle: BillingCycle
    friendly_name: str
    reseller_mpn_id: str | None  # "partnerId" on the wire: the indirect reseller
    auto_renew_enabled: bool


class Cart(Entity):
    """`active` until checked out, then `ordered` (with the order's id) for good."""

    customer_id: str
    status: Literal["active", "ordered"]
    creation_date: datetime
    line_items: tuple[CartLineItem, ...]
    order_id: str | None = None

    def checked_out(self, order_id: str) -> Cart:
        if self.status != "active":
            raise Conflict(f"cart {self.id} was already checked out (order {self.order_id})")
        return self.model_copy(update={"status": "ordered", "order_id": order_id})


class OrderLineItem(DomainModel):
    line_item_number: int
    offer_id: str
    plan_id: str
    subscription_id: str
    quantity: int
    term_duration: TermDuration
    billing_cycle: BillingCycle
    friendly_name: str
    partner_id_on_record: str | None  # the indirect reseller's MPN ID, if any


class Order(Entity):
    """An order is placed whole at checkout, so its status is `completed` from the
    start (Partner Center style); fulfilment then shows on each subscription."""

    customer_id: str
    cart_id: str
    status: Literal["completed"] = "completed"
    creation_date: datetime
    line_items: tuple[OrderLineItem, ...]

    def line_item(self, number: int) -> OrderLineItem | None:
        return next((li for li in self.line_items if li.line_item_number == number), None)
