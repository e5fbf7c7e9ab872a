"""Customers, carts and orders as the partner sees them.

Aggregates (`shared.domain.Aggregate`): mutable pydantic models, stored as their own
`model_dump(mode="json")` in the collections "customers", "carts" and "orders".
Line items are values: frozen, replaced whole, never changed in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from shared.domain import Aggregate
from shared.errors import Conflict, RuleBroken

TermDuration = Literal["P1M", "P1Y"]
BillingCycle = Literal["monthly", "annual"]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Customer(Aggregate):
    COLLECTION: ClassVar[str] = "customers"

    csp_partner_id: str  # the partner that owns this customer; nobody else sees it
    company_name: str
    domain: str | None
    creation_date: datetime

    @classmethod
    def register(
        cls, *, id: str, csp_partner_id: str, company_name: str, domain: str | None, now: datetime
    ) -> Customer:
        """Names are trimmed; a blank company name is refused, a blank domain is none."""
        if not company_name.strip():
            raise RuleBroken("companyName must not be empty", "companyName")
        return cls(
            id=id,
            csp_partner_id=csp_partner_id,
            company_name=company_name.strip(),
            domain=domain.strip() if domain and domain.strip() else None,
            creation_date=now,
        )


class CartLineItem(Value):
    id: int  # the index in the cart, as in Partner Center
    offer_id: str
    plan_id: str
    quantity: int
    term_duration: TermDuration
    billing_cycle: BillingCycle
    friendly_name: str
    reseller_mpn_id: str | None  # "partnerId" on the wire: the indirect reseller
    auto_renew_enabled: bool


class Cart(Aggregate):
    """`active` until checked out, then `ordered` (with the order's id) for good."""

    COLLECTION: ClassVar[str] = "carts"

    customer_id: str
    status: Literal["active", "ordered"] = "active"
    creation_date: datetime
    line_items: tuple[CartLineItem, ...]
    order_id: str | None = None

    def check_out(self, order_id: str) -> None:
        if self.status != "active":
            raise Conflict(f"cart {self.id} was already checked out (order {self.order_id})")
        self.status = "ordered"
        self.order_id = order_id


class OrderLineItem(Value):
    line_item_number: int
    offer_id: str
    plan_id: str
    subscription_id: str
    quantity: int
    term_duration: TermDuration
    billing_cycle: BillingCycle
    friendly_name: str
    partner_id_on_record: str | None  # the indirect reseller's MPN ID, if any


class Order(Aggregate):
    """An order is placed whole at checkout, so its status is `completed` from the
    start (Partner Center style); fulfilment then shows on each subscription."""

    COLLECTION: ClassVar[str] = "orders"

    customer_id: str
    cart_id: str
    status: Literal["completed"] = "completed"
    creation_date: datetime
    line_items: tuple[OrderLineItem, ...]

    def line_item(self, number: int) -> OrderLineItem | None:
        return next((li for li in self.line_items if li.line_item_number == number), None)


def order_line(item: CartLineItem, number: int, subscription_id: str) -> OrderLineItem:
    """The order's record of one cart line: the same facts, with its subscription."""
    return OrderLineItem(
        **item.model_dump(exclude={"id", "reseller_mpn_id"}),
        line_item_number=number,
        subscription_id=subscription_id,
        partner_id_on_record=item.reseller_mpn_id,
    )
