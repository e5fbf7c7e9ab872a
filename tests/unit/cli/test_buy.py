"""`csp buy`: one cart line, checkout, then a progress display while it waits for the
activation link (or the activation); running out of time is exit 3, saying the order
stands."""

from __future__ import annotations

import json

from tests.unit.cli import samples as s
from tests.unit.cli.conftest import Csp
from tests.unit.cli.scripted_api import ScriptedApi, error

CARTS = f"/v1/customers/{s.CID}/carts"
CHECKOUT = f"{CARTS}/{s.CART}/checkout"
SUBSCRIPTION = f"/v1/customers/{s.CID}/subscriptions/{s.SID}"
CART = {"id": s.CART, "status": "active", "customerId": s.CID, "lineItems": []}


def placed(ordering: ScriptedApi, *states: dict) -> None:
    ordering.on("POST", CARTS, CART)
    ordering.on("POST", CHECKOUT, {"orders": [s.order()], "orderErrors": []})
    ordering.on("GET", SUBSCRIPTION, *states)


def test_buy_sends_the_line_and_waits_for_the_activation_link(
    csp: Csp, ordering: ScriptedApi
) -> None:
    linked = s.subscription(actionNeeded=True, activationLink=s.LINK)
    placed(ordering, s.subscription(), s.subscription(), linked)

    result = csp(
        "buy",
        s.CID,
        "contoso-crm",
        "--plan",
        "standard",
        "--seats",
        "5",
        "--name",
        "CRM for sales",
        "--reseller",
        "1234567",
        "--no-auto-renew",
    )

    assert result.exit_code == 0, result.output
    assert ordering.calls_to("POST", CARTS)[0].body == {
        "lineItems": [
            {
                "offerId": "contoso-crm",
                "planId": "standard",
                "quantity": 5,
                "termDuration": "P1M",
                "billingCycle": "monthly",
                "autoRenewEnabled": False,
                "friendlyName": "CRM for sales",
                "partnerId": "1234567",
            }
        ]
    }
    assert len(ordering.calls_to("POST", CHECKOUT)) == 1
    assert len(ordering.calls_to("GET", SUBSCRIPTION)) == 3  # polled until the link showed
    assert f"order {s.ORDER} placed for customer {s.CID}" in result.stdout
    assert f"subscription {s.SID}: contoso-crm / standard, 5 seats, pending" in result.stdout
    assert f"activation link (for the customer): {s.LINK}" in result.stdout
    assert "waiting for the activation link" in result.stderr  # the progress display
    assert "3/3" in result.stderr


def test_waiting_for_the_activation_goes_on_past_the_link(csp: Csp, ordering: ScriptedApi) -> None:
    linked = s.subscription(actionNeeded=True, activationLink=s.LINK)
    placed(ordering, linked, linked, s.active())

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard", "--wait", "active", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["order"] == s.order()
    assert answer["subscription"]["status"] == "active"
    assert "4/4" in result.stderr


def test_no_wait_returns_once_the_order_is_placed(csp: Csp, ordering: ScriptedApi) -> None:
    placed(ordering, s.subscription())

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard", "--wait", "none")

    assert result.exit_code == 0, result.output
    assert ordering.calls_to("GET", SUBSCRIPTION) == []
    assert f"subscription {s.SID}" in result.stdout


def test_time_running_out_is_exit_3_and_says_the_order_stands(
    csp: Csp, ordering: ScriptedApi
) -> None:
    placed(ordering, s.subscription())

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard", "--timeout", "0.5")

    assert result.exit_code == 3
    assert f"order {s.ORDER} placed" in result.stdout
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line == (
        "error: the activation link did not come within 0.5 s; the order is placed: "
        f"`csp show {s.CID} {s.SID}` looks again"
    )


def test_a_failure_while_waiting_still_names_the_placed_order(
    csp: Csp, ordering: ScriptedApi
) -> None:
    placed(ordering, error(503, "ServiceUnavailable", "shutting down"))

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard")

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: order {s.ORDER} is placed (subscription {s.SID}); "
        "ordering answered 503 ServiceUnavailable: shutting down"
    )


def test_a_refused_checkout_is_the_apis_message(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("POST", CARTS, CART)
    ordering.on(
        "POST",
        CHECKOUT,
        error(409, "Conflict", "offer contoso-crm is no longer sold", "lineItems[0].offerId"),
    )

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard")

    assert result.exit_code == 1
    assert "ordering answered 409 Conflict: offer contoso-crm is no longer sold" in result.stderr
    assert ordering.calls_to("GET", SUBSCRIPTION) == []
