"""After the flow: wait until the system has converged, then check the guarantee over HTTP.

Every purchase ends with exactly one charge and one invoice: nothing lost, nothing
doubled. The checks read a snapshot taken once everything settled and judge it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks.flow import PRICE_MINOR
from tests.e2e.actors import Partner
from tools.chaos_flow import POLL_S, Flow, FlowError
from tools.chaos_http import Retrying

CONVERGE_LIMIT_S = 180.0  # after the last activation (a rebalance after SIGKILL takes ~10-20 s)
# A relay killed between publishing a row and marking it sent leaves the row leased to
# the dead relay; its successor republishes it when the lease ends (OutboxRelay's default
# lease in shared/messaging/relay.py). A wrong second charge from that republication can
# show up this late after the last kill, so the count waits that long.
OUTBOX_LEASE_S = 30.0
LATE_DUPLICATE_WINDOW_S = OUTBOX_LEASE_S + 10.0
SETTLE_S = 2.0  # after convergence, in any case


@dataclass(frozen=True)
class Check:
    name: str
    errors: list[str]


@dataclass(frozen=True)
class Snapshot:
    subscriptions: list[dict[str, Any]]  # the partner's view of the customer
    invoices: dict[str, Any]  # GET /v1/invoices?customerId=
    charges: dict[str, list[dict[str, Any]] | None]  # ledger lines; None: billing has none


async def _json(
    retrying: Retrying, what: str, send: Callable[[], Awaitable[httpx.Response]]
) -> Any:
    sent = await retrying.request(what, send)
    if sent.value.status_code != 200:  # a read of our own customer: any 4xx is the product's
        raise FlowError(f"{what}: {sent.value.status_code} {sent.value.text}")
    return sent.value.json()


async def _subscriptions(partner: Partner, retrying: Retrying, cid: str) -> list[dict[str, Any]]:
    path = f"/v1/customers/{cid}/subscriptions"
    return list(
        (await _json(retrying, "list subscriptions", lambda: partner.ordering.get(path)))["items"]
    )


async def _invoices(partner: Partner, retrying: Retrying, cid: str) -> dict[str, Any]:
    return dict(
        await _json(
            retrying,
            "list invoices",
            lambda: partner.billing.get("/v1/invoices", params={"customerId": cid}),
        )
    )


async def converge(partner: Partner, retrying: Retrying, flow: Flow) -> float | None:
    """Until every purchase is active in the partner view and shows on an invoice;
    the time.monotonic() it happened, or None when the bound was hit."""
    deadline = (flow.last_activation or time.monotonic()) + CONVERGE_LIMIT_S
    wanted = set(flow.purchases)
    while True:
        subscriptions = await _subscriptions(partner, retrying, flow.cid)
        invoices = await _invoices(partner, retrying, flow.cid)
        active = {s["id"] for s in subscriptions if s["status"] == "active"}
        charged = {line["subscriptionId"] for i in invoices["items"] for line in i["lineItems"]}
        if wanted <= active and wanted <= charged:
            return time.monotonic()
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_S)


async def settle(converged_at: float, last_kill_at: float | None) -> None:
    until = converged_at + SETTLE_S
    if last_kill_at is not None:
        until = max(until, last_kill_at + LATE_DUPLICATE_WINDOW_S)
    await asyncio.sleep(max(0.0, until - time.monotonic()))


async def _charges(
    partner: Partner, retrying: Retrying, cid: str, sid: str
) -> list[dict[str, Any]] | None:
    """The subscription's ledger lines; None when billing has no record of it (404)."""
    sent = await retrying.request(f"charges {sid}", lambda: partner.charges(cid, sid))
    if sent.value.status_code == 404:
        return None
    if sent.value.status_code != 200:
        raise FlowError(f"charges {sid}: {sent.value.status_code} {sent.value.text}")
    return list(sent.value.json()["items"])


async def snapshot(partner: Partner, retrying: Retrying, flow: Flow) -> Snapshot:
    charges = {sid: await _charges(partner, retrying, flow.cid, sid) for sid in flow.purchases}
    return Snapshot(
        subscriptions=await _subscriptions(partner, retrying, flow.cid),
        invoices=await _invoices(partner, retrying, flow.cid),
        charges=charges,
    )


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def answered_as_expected(flow: Flow) -> Check:
    return Check("every call answered as expected", list(flow.errors))


def judge(flow: Flow, seen: Snapshot, n: int) -> list[Check]:
    return [
        answered_as_expected(flow),
        _bought(flow, seen, n),
        _one_charge_each(flow, seen),
        _invoices_for_customer(seen, n),
        _gapless_numbers(seen, n),
        _active_with_licenses(flow, seen),
    ]


def _bought(flow: Flow, seen: Snapshot, n: int) -> Check:
    errors = []
    if len(flow.purchases) != n:
        errors.append(f"{len(flow.purchases)} subscriptions were bought, expected {n}")
    listed = [s["id"] for s in seen.subscriptions]
    if sorted(listed) != sorted(flow.purchases):  # a doubled order would show here
        errors.append(
            f"the partner lists {len(listed)} subscriptions ({len(set(listed))}"
            f" distinct) for the customer; {len(flow.purchases)} were bought"
        )
    return Check(f"{n} subscriptions bought, the partner lists exactly those", errors)


def _one_charge_each(flow: Flow, seen: Snapshot) -> Check:
    errors = []
    for sid, purchase in flow.purchases.items():
        lines = seen.charges[sid]
        want = [("charge", money(purchase.quantity * PRICE_MINOR), "USD")]
        if lines is None:
            errors.append(f"{sid}: no charge (billing has no record of it): LOST")
            continue
        got = [(line["type"], line["amount"], line["currency"]) for line in lines]
        if got != want:
            errors.append(f"{sid}: ledger {got}, expected exactly {want}")
    return Check("exactly one ledger line per subscription: charge, quantity x 10.00 USD", errors)


def _invoices_for_customer(seen: Snapshot, n: int) -> Check:
    errors = []
    if seen.invoices["totalCount"] != n:
        errors.append(f"{seen.invoices['totalCount']} invoices for the customer, expected {n}")
    listed = {i["id"] for i in seen.invoices["items"]}
    named = {line["invoiceId"] for lines in seen.charges.values() for line in lines or []}
    if listed != named:
        errors.append(f"the charges name {len(named)} invoices, the list has {len(listed)}")
    return Check(f"{n} invoices for the customer, one per charge", errors)


def _gapless_numbers(seen: Snapshot, n: int) -> Check:
    numbers = sorted(i["number"] for i in seen.invoices["items"])
    want = [f"INV-{k:06d}" for k in range(1, n + 1)]
    errors = []
    if numbers != want:
        missing = sorted(set(want) - set(numbers))
        extra = sorted(set(numbers) - set(want))
        doubled = sorted({x for x in numbers if numbers.count(x) > 1})
        errors.append(
            f"invoice numbers: missing {missing[:10]}, unexpected {extra[:10]},"
            f" doubled {doubled[:10]}"
        )
    return Check(f"invoice numbers gapless INV-000001..{want[-1] if want else '-'}", errors)


def _active_with_licenses(flow: Flow, seen: Snapshot) -> Check:
    view = {s["id"]: s for s in seen.subscriptions}
    errors = []
    for sid in flow.purchases:
        s = view.get(sid)
        if s is None or s["status"] != "active" or s["licensesAssigned"] < 1:
            state = "missing" if s is None else f"{s['status']}, {s['licensesAssigned']} licenses"
            errors.append(f"{sid}: partner view {state}, expected active with licenses")
    return Check("every subscription active in the partner view with licenses", errors)
