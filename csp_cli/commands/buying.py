"""`csp buy`: a cart of one line, checked out, then (by default) waiting for the
activation link the partner hands to the customer, or for the publisher's activation."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.text import Text

from csp_cli.client import ApiClient, path
from csp_cli.connection import connection
from csp_cli.failures import CliFailure, WaitRanOut
from csp_cli.formatting import emit, emit_json, status_text
from csp_cli.options import CustomerId, Json, Timeout
from csp_cli.progress import Polled, Steps


class Wait(StrEnum):
    none = "none"  # return once the order is placed
    link = "link"  # until the activation link is issued (the default)
    active = "active"  # until the publisher has assigned licenses and activated


def buy(
    ctx: typer.Context,
    customer_id: CustomerId,
    offer: Annotated[str, typer.Argument(help="The offer's id (`csp offers`).")],
    plan: Annotated[str, typer.Option("--plan", help="The plan's id (`csp offers`).")],
    seats: Annotated[int, typer.Option("--seats", min=1, help="How many seats.")] = 1,
    term: Annotated[str, typer.Option(help="Term duration: P1M or P1Y.")] = "P1M",
    billing: Annotated[str, typer.Option(help="Billing cycle: monthly or annual.")] = "monthly",
    name: Annotated[
        str | None, typer.Option(help="Friendly name (default: the offer's name).")
    ] = None,
    reseller: Annotated[
        str | None, typer.Option(help="The indirect reseller's MPN ID (partnerId).")
    ] = None,
    auto_renew: Annotated[bool, typer.Option("--auto-renew/--no-auto-renew")] = True,
    wait: Annotated[
        Wait, typer.Option(help="What to wait for after checkout.", case_sensitive=False)
    ] = Wait.link,
    timeout: Timeout = 60.0,
    json: Json = False,
) -> None:
    """Buy an offer for a customer: cart, checkout, then wait for the activation link."""
    ordering = connection(ctx).ordering()
    line: dict[str, Any] = {
        "offerId": offer,
        "planId": plan,
        "quantity": seats,
        "termDuration": term,
        "billingCycle": billing,
        "autoRenewEnabled": auto_renew,
    }
    if name is not None:
        line["friendlyName"] = name
    if reseller is not None:
        line["partnerId"] = reseller
    waits = {Wait.none: 0, Wait.link: 1, Wait.active: 2}[wait]
    with Steps(total=2 + waits) as steps:
        steps.now("creating the cart")
        cart = ordering.post(path("/v1/customers", customer_id, "carts"), {"lineItems": [line]})
        steps.done("checking out")
        placed = ordering.post(path("/v1/customers", customer_id, "carts", cart["id"], "checkout"))
        steps.done()
        order = placed["orders"][0]
        sid = order["lineItems"][0]["subscriptionId"]
        try:
            polled = _wait(ordering, steps, customer_id, sid, wait, timeout)
        except CliFailure as failure:  # the order stands: say so before the failure
            raise CliFailure(
                f"order {order['id']} is placed (subscription {sid}); {failure}"
            ) from None
    subscription = polled.value if polled else None
    if json:
        emit_json({"order": order, "subscription": subscription})
    else:
        _summary(order, sid, subscription)
    if polled is not None and not polled.reached:
        awaited = "the activation link" if wait == Wait.link else "the activation"
        raise WaitRanOut(
            f"{awaited} did not come within {timeout:g} s; the order is placed: "
            f"`csp show {customer_id} {sid}` looks again"
        )


def _wait(
    ordering: ApiClient,
    steps: Steps,
    customer_id: str,
    sid: str,
    wait: Wait,
    timeout: float,
) -> Polled[dict[str, Any]] | None:
    if wait == Wait.none:
        return None
    deadline = time.monotonic() + timeout
    subscription = path("/v1/customers", customer_id, "subscriptions", sid)

    def read() -> dict[str, Any]:
        return ordering.get(subscription)

    def state(sub: dict[str, Any]) -> str:
        return f"{sub['status']}, {sub.get('licensesAssigned', 0)} licenses assigned"

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    steps.now("waiting for the activation link")
    # Past `pending` (activated, or cancelled meanwhile) there is nothing more to wait for.
    polled = steps.poll(
        read,
        lambda sub: bool(sub.get("activationLink")) or sub["status"] != "pending",
        state,
        timeout=left(),
    )
    if wait == Wait.link or not polled.reached:
        return polled
    steps.now("waiting for the publisher to activate")
    return steps.poll(read, lambda sub: sub["status"] != "pending", state, timeout=left())


def _summary(order: dict[str, Any], sid: str, sub: dict[str, Any] | None) -> None:
    item = order["lineItems"][0]
    emit(f"order {order['id']} placed for customer {order['customerId']}")
    line = Text(
        f"subscription {sid}: {item['offerId']} / {item['planId']}, {item['quantity']} seats, "
    )
    line.append_text(status_text(sub) if sub else Text("pending"))
    emit(line)
    if sub and sub.get("activationLink"):
        emit(f"activation link (for the customer): {sub['activationLink']}")
