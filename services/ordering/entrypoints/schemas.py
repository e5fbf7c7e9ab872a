"""Wire shapes of the partner API (camelCase; lists are {"totalCount", "items"}):
requests, and the answers about customers, carts and orders. The catalog's answers
are in `offer_schemas.py`, the subscriptions' in `subscription_schemas.py`.

Answers are read straight from the domain objects (`from_attributes`): a field named
like the domain's is copied by pydantic; the few renamed on the wire say where from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError

from services.ordering.domain.cart_rules import LineItemDraft
from services.ordering.domain.subscription_changes import FRIENDLY_NAME_MAX
from shared.events.envelope import CamelModel
from shared.http.limits import CODE_CHARS, DOMAIN_CHARS, ID_CHARS, NAME_CHARS
from shared.http.paging import ListBody, PageLinks

T = TypeVar("T")


def renamed(attribute: str, wire: str) -> Any:
    """A field the domain keeps under another name (`reseller_mpn_id` -> `partnerId`)."""
    return Field(validation_alias=AliasChoices(wire, attribute))


class Out(CamelModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, ListBody, Generic[T]):
    """A page of a list: `totalCount` counts this page; `links.next` while more remain."""

    total_count: int
    items: list[T]
    links: PageLinks | None = None

    @classmethod
    def of(cls, items: Iterable[object], links: PageLinks | None = None) -> Self:
        """Items as answer models, or domain objects to be read into them."""
        found = list(items)
        return cls.model_validate({"total_count": len(found), "items": found, "links": links})


# --- requests: JSON types are strict (no "5" for 5); value rules live in the domain.
# Every string has a maximum length (a 400 naming the field past it), at least as long
# as the domain's own rule where it has one, so its message still speaks first.


Name = Annotated[StrictStr, Field(max_length=NAME_CHARS)]
DomainName = Annotated[StrictStr, Field(max_length=DOMAIN_CHARS)]
CatalogId = Annotated[StrictStr, Field(max_length=ID_CHARS)]
Code = Annotated[StrictStr, Field(max_length=CODE_CHARS)]  # an enumerated value, an MPN ID


def _friendly_name_fits(value: str) -> str:
    if len(value.strip()) > FRIENDLY_NAME_MAX:
        raise PydanticCustomError(
            "friendly_name_length",
            "must be 1 to {max} characters after trimming",
            {"max": FRIENDLY_NAME_MAX},
        )
    return value


# The domain's friendlyName rule (1 to 128 characters after trimming, PATCH), also for
# a cart's line items; blank is left to the domain.
FriendlyName = Annotated[
    StrictStr,
    AfterValidator(_friendly_name_fits),
    Field(json_schema_extra={"maxLength": FRIENDLY_NAME_MAX}),
]


class CustomerIn(CamelModel):
    company_name: Name
    domain: DomainName | None = None


class LineItemIn(CamelModel):
    offer_id: CatalogId
    plan_id: CatalogId
    quantity: StrictInt
    term_duration: Code
    billing_cycle: Code
    friendly_name: FriendlyName | None = None
    partner_id: Code | None = None  # the indirect reseller's MPN ID
    auto_renew_enabled: StrictBool | None = None

    def draft(self) -> LineItemDraft:
        fields = self.model_dump(exclude={"partner_id"})
        return LineItemDraft(**fields, reseller_mpn_id=self.partner_id)


class CartIn(CamelModel):
    line_items: list[LineItemIn]


# --- answers


class CustomerOut(Out):
    id: str
    company_name: str
    domain: str | None
    partner_id: str = renamed("csp_partner_id", "partnerId")  # the owning CSP partner
    creation_date: datetime


class CartLineItemOut(Out):
    id: int
    offer_id: str
    plan_id: str
    quantity: int
    term_duration: str
    billing_cycle: str
    friendly_name: str
    partner_id: str | None = renamed("reseller_mpn_id", "partnerId")
    auto_renew_enabled: bool


class CartOut(Out):
    id: str
    status: Literal["active", "ordered"]
    customer_id: str
    creation_date: datetime
    order_id: str | None
    line_items: list[CartLineItemOut]


class OrderLineItemOut(Out):
    line_item_number: int
    offer_id: str
    plan_id: str
    subscription_id: str
    quantity: int
    term_duration: str
    billing_cycle: str
    friendly_name: str
    partner_id_on_record: str | None


class OrderOut(Out):
    id: str
    customer_id: str
    status: Literal["completed"]
    creation_date: datetime
    line_items: list[OrderLineItemOut]


class CheckoutOut(Out):
    orders: list[OrderOut]
    order_errors: list[dict[str, str]]  # always empty: a cart is placed whole or not at all
