"""Wire shapes of the partner API (camelCase; lists are {"totalCount", "items"})."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import StrictBool, StrictInt, StrictStr

from services.ordering.domain.cart_rules import LineItemDraft
from services.ordering.domain.model import Cart, CartLineItem, Customer, Order, OrderLineItem
from services.ordering.domain.subscription import Subscription
from shared.catalog import Catalog, Offer, Plan, Price
from shared.events.envelope import CamelModel
from shared.money import format_money, to_minor

T = TypeVar("T")


class Page(CamelModel, Generic[T]):
    total_count: int
    items: list[T]

    @classmethod
    def of(cls, items: list[T]) -> Page[T]:
        return cls(total_count=len(items), items=items)


# --- requests: JSON types are strict (no "5" for 5); value rules live in the domain


class CustomerIn(CamelModel):
    company_name: StrictStr
    domain: StrictStr | None = None


class LineItemIn(CamelModel):
    offer_id: StrictStr
    plan_id: StrictStr
    quantity: StrictInt
    term_duration: StrictStr
    billing_cycle: StrictStr
    friendly_name: StrictStr | None = None
    partner_id: StrictStr | None = None  # the indirect reseller's MPN ID
    auto_renew_enabled: StrictBool | None = None

    def draft(self) -> LineItemDraft:
        return LineItemDraft(
            offer_id=self.offer_id,
            plan_id=self.plan_id,
            quantity=self.quantity,
            term_duration=self.term_duration,
            billing_cycle=self.billing_cycle,
            friendly_name=self.friendly_name,
            reseller_mpn_id=self.partner_id,
            auto_renew_enabled=self.auto_renew_enabled,
        )


class CartIn(CamelModel):
    line_items: list[LineItemIn]


# --- answers


class PriceOut(CamelModel):
    term_duration: str
    billing_cycle: str
    price_per_seat: str  # decimal string with the currency's minor digits

    @classmethod
    def of(cls, price: Price, currency: str) -> PriceOut:
        amount = format_money(to_minor(price.price_per_seat, currency), currency)
        return cls(
            term_duration=price.term_duration,
            billing_cycle=price.billing_cycle,
            price_per_seat=amount,
        )


class PlanOut(CamelModel):
    plan_id: str
    name: str
    currency: str
    min_quantity: int
    max_quantity: int
    prices: list[PriceOut]

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(
            plan_id=plan.plan_id,
            name=plan.name,
            currency=plan.currency,
            min_quantity=plan.min_quantity,
            max_quantity=plan.max_quantity,
            prices=[PriceOut.of(p, plan.currency) for p in plan.prices],
        )


class CancellationWindowOut(CamelModel):
    monthly: str
    annual: str


class OfferOut(CamelModel):
    """No publisher webhook details: partners never see those."""

    offer_id: str
    publisher_id: str
    name: str
    cancellation_window: CancellationWindowOut
    plans: list[PlanOut]

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        window = offer.cancellation_window
        return cls(
            offer_id=offer.offer_id,
            publisher_id=offer.publisher_id,
            name=offer.name,
            cancellation_window=CancellationWindowOut(monthly=window.monthly, annual=window.annual),
            plans=[PlanOut.of(p) for p in offer.plans],
        )


def offers_page(catalog: Catalog) -> Page[OfferOut]:
    return Page[OfferOut].of([OfferOut.of(o) for o in catalog.offers])


class CustomerOut(CamelModel):
    id: str
    company_name: str
    domain: str | None
    partner_id: str  # the CSP partner who owns the customer
    creation_date: datetime

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            company_name=c.company_name,
            domain=c.domain,
            partner_id=c.csp_partner_id,
            creation_date=c.creation_date,
        )


class CartLineItemOut(CamelModel):
    id: int
    offer_id: str
    plan_id: str
    quantity: int
    term_duration: str
    billing_cycle: str
    friendly_name: str
    partner_id: str | None
    auto_renew_enabled: bool

    @classmethod
    def of(cls, li: CartLineItem) -> CartLineItemOut:
        return cls(**li.model_dump(exclude={"reseller_mpn_id"}), partner_id=li.reseller_mpn_id)


class CartOut(CamelModel):
    id: str
    status: Literal["active", "ordered"]
    customer_id: str
    creation_date: datetime
    order_id: str | None
    line_items: list[CartLineItemOut]

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        return cls(
            id=cart.id,
            status=cart.status,
            customer_id=cart.customer_id,
            creation_date=cart.creation_date,
            order_id=cart.order_id,
            line_items=[CartLineItemOut.of(li) for li in cart.line_items],
        )


class OrderLineItemOut(CamelModel):
    line_item_number: int
    offer_id: str
    plan_id: str
    subscription_id: str
    quantity: int
    term_duration: str
    billing_cycle: str
    friendly_name: str
    partner_id_on_record: str | None

    @classmethod
    def of(cls, li: OrderLineItem) -> OrderLineItemOut:
        return cls(**li.model_dump())


class OrderOut(CamelModel):
    id: str
    customer_id: str
    status: Literal["completed"]
    creation_date: datetime
    line_items: list[OrderLineItemOut]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            customer_id=order.customer_id,
            status=order.status,
            creation_date=order.creation_date,
            line_items=[OrderLineItemOut.of(li) for li in order.line_items],
        )


class CheckoutOut(CamelModel):
    orders: list[OrderOut]
    order_errors: list[dict[str, str]]  # always empty: a cart is placed whole or not at all


class LinkOut(CamelModel):
    uri: str
    method: Literal["GET"] = "GET"


class ActivationLinkOut(CamelModel):
    line_item_number: int
    link: LinkOut


class PendingChangeOut(CamelModel):
    quantity: int | None = None
    plan_id: str | None = None
    operation_id: str


class SubscriptionOut(CamelModel):
    id: str
    customer_id: str
    order_id: str
    offer_id: str
    plan_id: str
    publisher_id: str
    friendly_name: str
    quantity: int
    status: str
    action_needed: bool
    activation_link: str | None
    licenses_assigned: int
    auto_renew_enabled: bool
    partner_id: str | None  # the indirect reseller's MPN ID
    term_duration: str
    billing_cycle: str
    creation_date: datetime
    effective_start_date: datetime | None
    commitment_end_date: datetime | None
    refundable_until: datetime | None
    pending_change: PendingChangeOut | None

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        fields = s.model_dump(include=set(cls.model_fields) - {"partner_id", "pending_change"})
        change = s.pending_change
        return cls(
            **fields,
            partner_id=s.reseller_mpn_id,
            pending_change=PendingChangeOut(**change.model_dump()) if change else None,
        )
