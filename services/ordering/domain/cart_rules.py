"""What a cart line item must satisfy against the catalog.

Checked when the cart is created and again at checkout (the catalog file may have
changed in between). The first broken rule is reported with the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.ordering.domain.model import CartLineItem
from shared.catalog import Catalog, Offer, Plan, Price
from shared.errors import RuleBroken

TERM_DURATIONS = ("P1M", "P1Y")
BILLING_CYCLES = ("monthly", "annual")
MPN_ID = re.compile(r"[0-9]{1,10}")  # not \d: that would admit other scripts' digits


@dataclass(frozen=True)
class LineItemDraft:
    """A line item as the partner asked for it, before any rule is checked."""

    offer_id: str
    plan_id: str
    quantity: Any  # checked here too: the domain does not trust its callers' parsing
    term_duration: str
    billing_cycle: str
    friendly_name: str | None = None
    reseller_mpn_id: str | None = None
    auto_renew_enabled: bool | None = None


@dataclass(frozen=True)
class PricedItem:
    offer: Offer
    plan: Plan
    price: Price


def price_line_item(catalog: Catalog, item: CartLineItem | LineItemDraft, where: str) -> PricedItem:
    """The offer, plan and price a line item names; RuleBroken naming the field otherwise."""
    offer = catalog.offer(item.offer_id)
    if offer is None:
        raise RuleBroken(f"unknown offer {item.offer_id!r}", f"{where}.offerId")
    plan = offer.plan(item.plan_id)
    if plan is None:
        raise RuleBroken(
            f"offer {offer.offer_id!r} has no plan {item.plan_id!r}", f"{where}.planId"
        )
    if item.term_duration not in TERM_DURATIONS:
        raise RuleBroken("termDuration must be P1M or P1Y", f"{where}.termDuration")
    if item.billing_cycle not in BILLING_CYCLES:
        raise RuleBroken("billingCycle must be monthly or annual", f"{where}.billingCycle")
    price = plan.price_for(item.term_duration, item.billing_cycle)
    if price is None:
        # Blame the term if the plan never sells it, else the cycle that does not fit it.
        sold = any(p.term_duration == item.term_duration for p in plan.prices)
        field = "billingCycle" if sold else "termDuration"
        raise RuleBroken(
            f"plan {plan.plan_id!r} has no price for term {item.term_duration}"
            f" billed {item.billing_cycle}",
            f"{where}.{field}",
        )
    return PricedItem(offer, plan, price)


def validate_line_item(catalog: Catalog, draft: LineItemDraft, index: int) -> CartLineItem:
    where = f"lineItems[{index}]"
    priced = price_line_item(catalog, draft, where)
    plan = priced.plan
    quantity = draft.quantity
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise RuleBroken("quantity must be an integer", f"{where}.quantity")
    if not plan.min_quantity <= quantity <= plan.max_quantity:
        raise RuleBroken(
            f"quantity must be between {plan.min_quantity} and {plan.max_quantity}"
            f" for plan {plan.plan_id!r}",
            f"{where}.quantity",
        )
    mpn = draft.reseller_mpn_id
    if mpn is not None and not MPN_ID.fullmatch(mpn):
        raise RuleBroken(
            "partnerId (the indirect reseller's MPN ID) must be 1 to 10 digits",
            f"{where}.partnerId",
        )
    name = draft.friendly_name
    if name is not None and not name.strip():
        raise RuleBroken("friendlyName must not be blank", f"{where}.friendlyName")
    return CartLineItem(
        id=index,
        offer_id=draft.offer_id,
        plan_id=draft.plan_id,
        quantity=quantity,
        term_duration=priced.price.term_duration,
        billing_cycle=priced.price.billing_cycle,
        friendly_name=name.strip() if name is not None else priced.offer.name,
        reseller_mpn_id=mpn,
        auto_renew_enabled=True if draft.auto_renew_enabled is None else draft.auto_renew_enabled,
    )


def validate_line_items(catalog: Catalog, drafts: Sequence[LineItemDraft]) -> list[CartLineItem]:
    if not drafts:
        raise RuleBroken("a cart needs at least one line item", "lineItems")
    return [validate_line_item(catalog, draft, i) for i, draft in enumerate(drafts)]
