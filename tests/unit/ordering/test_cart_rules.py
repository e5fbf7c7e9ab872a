"""Cart line items against the catalog: pure domain rules, no I/O."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.ordering.domain.cart_rules import LineItemDraft, validate_line_items
from shared.catalog import load_catalog
from shared.errors import RuleBroken

CATALOG = load_catalog()
VALID = LineItemDraft(
    offer_id="contoso-crm",
    plan_id="standard",
    quantity=5,
    term_duration="P1Y",
    billing_cycle="annual",
)


def target_of(*drafts: LineItemDraft) -> str | None:
    with pytest.raises(RuleBroken) as raised:
        validate_line_items(CATALOG, list(drafts))
    return raised.value.target


def test_a_valid_line_gets_the_documented_defaults() -> None:
    [item] = validate_line_items(CATALOG, [VALID])
    assert item.id == 0
    assert item.friendly_name == "Contoso CRM"  # the offer's name
    assert item.auto_renew_enabled is True
    assert item.reseller_mpn_id is None


def test_given_optional_fields_are_kept_and_ids_follow_cart_order() -> None:
    second = replace(
        VALID, friendly_name="CRM for sales", reseller_mpn_id="1234567890", auto_renew_enabled=False
    )
    first, item = validate_line_items(CATALOG, [VALID, second])
    assert (first.id, item.id) == (0, 1)
    assert (item.friendly_name, item.reseller_mpn_id, item.auto_renew_enabled) == (
        "CRM for sales",
        "1234567890",
        False,
    )


def test_an_empty_cart_names_line_items() -> None:
    assert target_of() == "lineItems"


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"offer_id": "no-such-offer"}, "offerId"),
        ({"plan_id": "no-such-plan"}, "planId"),
        ({"plan_id": "basic"}, "planId"),  # a plan of another offer
        ({"term_duration": "P3Y"}, "termDuration"),
        ({"billing_cycle": "weekly"}, "billingCycle"),
        # premium is sold P1M/monthly and P1Y/annual only
        (
            {"plan_id": "premium", "term_duration": "P1Y", "billing_cycle": "monthly"},
            "billingCycle",
        ),
        ({"plan_id": "premium", "term_duration": "P1M", "billing_cycle": "annual"}, "billingCycle"),
        # enterprise (fabrikam) sells no P1M term at all
        (
            {
                "offer_id": "fabrikam-backup",
                "plan_id": "enterprise",
                "quantity": 10,
                "term_duration": "P1M",
                "billing_cycle": "monthly",
            },
            "termDuration",
        ),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 501}, "quantity"),  # standard allows 1..500
        ({"plan_id": "premium", "quantity": 4}, "quantity"),  # premium starts at 5
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": "5"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"reseller_mpn_id": ""}, "partnerId"),
        ({"reseller_mpn_id": "12345678901"}, "partnerId"),  # 11 digits
        ({"reseller_mpn_id": "12a4"}, "partnerId"),
        ({"reseller_mpn_id": "١٢٣"}, "partnerId"),  # Arabic-Indic digits are not 0-9
        ({"friendly_name": "   "}, "friendlyName"),
    ],
)
def test_each_broken_rule_names_its_field(change: dict[str, Any], target: str) -> None:
    assert target_of(replace(VALID, **change)) == f"lineItems[0].{target}"


def test_the_error_points_at_the_offending_line() -> None:
    assert target_of(VALID, VALID, replace(VALID, plan_id="gold")) == "lineItems[2].planId"


@pytest.mark.parametrize("quantity", [1, 500])
def test_quantity_bounds_are_inclusive(quantity: int) -> None:
    [item] = validate_line_items(CATALOG, [replace(VALID, quantity=quantity)])
    assert item.quantity == quantity
