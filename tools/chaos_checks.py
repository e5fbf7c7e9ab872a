"""After the flow: wait until the system has converged, then check the guarantee over HTTP.

Every purchase ends as tools.chaos_management expects it: exactly one charge and one
invoice when kept, a proration on an invoice of its own when a seat was added, a credit
note reversing the charge when cancelled. Nothing lost, nothing doubled, every document
number gapless. The checks read a snapshot taken once everything settled and judge it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.actors import Partner
from tools.chaos_flow import POLL_S, Flow, FlowError
from tools.chaos_http import Retrying
from tools.chaos_management import Expected, expected

CONVERGE_LIMIT_S = 180.0  # after the last activation (a rebalance after SIGKILL takes ~10-20 s)
# A relay killed between publishing a row and marking it sent leaves the row leased to
# the dead relay; its successor republishes it when the lease ends, and a wrong second
# charge from that republication would show up only then. So the snapshot is not taken
# on convergence alone but once everything was delivered (tools.chaos_broker.wait_drained:
# no outbox row unsent, every consumer group caught up), after at least SETTLE_S.
SETTLE_S = 2.0  # after convergence, in any case


@dataclass(frozen=True)
class Check:
    name: str
    errors: list[str]


@dataclass(frozen=True)
class Snapshot:
    subscriptions: list[dict[str, Any]]  # the partner's view of the customer
    documents: list[dict[str, Any]]  # GET /v1/invoices?customerId=, every page
    charges: dict[str, list[dict[str, Any]] | None]  # ledger lines; None: billing has none


async def _json(
    retrying: Retrying, what: str, send: Callable[[], Awaitable[httpx.Response]]
) -> Any:
    sent = await retrying.request(what, send)
    if sent.value.status_code != 200:  # a read of our own customer: any 4xx is the product's
        raise FlowError(f"{what}: {sent.value.status_code} {sent.value.text}")
    return sent.value.json()


async def _all_pages(
    retrying: Retrying, what: str, client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    """Every item of a paged list, following `links.next` to the last page."""
    items: list[dict[str, Any]] = []
    page = await _json(retrying, what, lambda: client.get(path, params={**params, "size": "500"}))
    items += page["items"]
    while (page.get("links") or {}).get("next"):
        uri = page["links"]["next"]["uri"]
        page = await _json(retrying, what, lambda uri=uri: client.get(uri))
        items += page["items"]
    return items


async def _subscriptions(partner: Partner, retrying: Retrying, cid: str) -> list[dict[str, Any]]:
    path = f"/v1/customers/{cid}/subscriptions"
    return await _all_pages(retrying, "list subscriptions", partner.ordering, path, {})


async def _documents(partner: Partner, retrying: Retrying, cid: str) -> list[dict[str, Any]]:
    """The customer's invoices and credit notes."""
    return await _all_pages(
        retrying, "list invoices", partner.billing, "/v1/invoices", {"customerId": cid}
    )


def _expectations(flow: Flow) -> dict[str, Expected]:
    return {sid: expected(p.change, p.quantity) for sid, p in flow.purchases.items()}


def _as_expected(subscription: dict[str, Any] | None, want: Expected) -> bool:
    return (
        subscription is not None
        and subscription["status"] == want.status
        and subscription["quantity"] == want.quantity
        and subscription["pendingChange"] is None
    )


def _documents_per_subscription(documents: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        sid for d in documents for sid in {line["subscriptionId"] for line in d["lineItems"]}
    )


async def converge(partner: Partner, retrying: Retrying, flow: Flow) -> float | None:
    """Until every purchase stands as expected in the partner view and shows on as many
    documents as expected; the time.monotonic() it happened, or None at the bound."""
    deadline = (flow.last_activation or time.monotonic()) + CONVERGE_LIMIT_S
    wanted = _expectations(flow)
    while True:
        view = {s["id"]: s for s in await _subscriptions(partner, retrying, flow.cid)}
        on_documents = _documents_per_subscription(await _documents(partner, retrying, flow.cid))
        if all(
            _as_expected(view.get(sid), want) and on_documents[sid] >= want.documents
            for sid, want in wanted.items()
        ):
            return time.monotonic()
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_S)


async def settle(converged_at: float) -> None:
    await asyncio.sleep(max(0.0, converged_at + SETTLE_S - time.monotonic()))


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
        documents=await _documents(partner, retrying, flow.cid),
        charges=charges,
    )


def answered_as_expected(flow: Flow) -> Check:
    return Check("every call answered as expected", list(flow.errors))


def judge(flow: Flow, seen: Snapshot, n: int) -> list[Check]:
    wanted = _expectations(flow)
    return [
        answered_as_expected(flow),
        _bought(flow, seen, n),
        _ledgers(wanted, seen),
        _documents_for_customer(wanted, seen),
        _gapless_numbers(wanted, seen),
        _states(wanted, seen),
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


def _ledgers(wanted: dict[str, Expected], seen: Snapshot) -> Check:
    errors = []
    for sid, want in wanted.items():
        lines = seen.charges[sid]
        if lines is None:
            errors.append(f"{sid}: no charge (billing has no record of it): LOST")
            continue
        got = sorted((line["type"], line["amount"]) for line in lines)
        if got != want.ledger or any(line["currency"] != "USD" for line in lines):
            errors.append(f"{sid}: ledger {got}, expected exactly {want.ledger} in USD")
    kinds = Counter(tuple(kind for kind, _ in want.ledger) for want in wanted.values())
    summary = ", ".join(f"{'+'.join(k)} x{count}" for k, count in sorted(kinds.items()))
    return Check(f"every ledger exactly as expected ({summary})", errors)


def _documents_for_customer(wanted: dict[str, Expected], seen: Snapshot) -> Check:
    invoices = sum(w.invoices for w in wanted.values())
    notes = sum(w.credit_notes for w in wanted.values())
    kinds = Counter(d["kind"] for d in seen.documents)
    errors = []
    if (kinds["invoice"], kinds["creditNote"]) != (invoices, notes):
        errors.append(
            f"{kinds['invoice']} invoices and {kinds['creditNote']} credit notes for the"
            f" customer, expected {invoices} and {notes}"
        )
    listed = {d["id"] for d in seen.documents}
    named = {line["invoiceId"] for lines in seen.charges.values() for line in lines or []}
    if listed != named:
        errors.append(f"the ledgers name {len(named)} documents, the list has {len(listed)}")
    return Check(f"{invoices} invoices and {notes} credit notes, one per ledger line", errors)


def _gapless(numbers: list[str], prefix: str, count: int) -> list[str]:
    want = [f"{prefix}-{k:06d}" for k in range(1, count + 1)]
    if sorted(numbers) == want:
        return []
    missing = sorted(set(want) - set(numbers))
    extra = sorted(set(numbers) - set(want))
    doubled = sorted({x for x in numbers if numbers.count(x) > 1})
    return [
        f"{prefix} numbers: missing {missing[:10]}, unexpected {extra[:10]}, doubled {doubled[:10]}"
    ]


def _gapless_numbers(wanted: dict[str, Expected], seen: Snapshot) -> Check:
    invoices = sum(w.invoices for w in wanted.values())
    notes = sum(w.credit_notes for w in wanted.values())
    numbers = {
        kind: [d["number"] for d in seen.documents if d["kind"] == kind]
        for kind in ("invoice", "creditNote")
    }
    errors = _gapless(numbers["invoice"], "INV", invoices)
    errors += _gapless(numbers["creditNote"], "CN", notes)
    return Check(f"numbers gapless: INV-000001..{invoices:06d}, CN-000001..{notes:06d}", errors)


def _states(wanted: dict[str, Expected], seen: Snapshot) -> Check:
    view = {s["id"]: s for s in seen.subscriptions}
    errors = []
    for sid, want in wanted.items():
        s = view.get(sid)
        if not _as_expected(s, want) or s is None or s["licensesAssigned"] < 1:
            state = (
                "missing"
                if s is None
                else f"{s['status']}, {s['quantity']} seats, pending {s['pendingChange']},"
                f" {s['licensesAssigned']} licenses"
            )
            errors.append(
                f"{sid}: partner view {state}; expected {want.status} with"
                f" {want.quantity} seats, nothing pending, licenses assigned"
            )
    return Check("every subscription in the partner view as expected, with licenses", errors)
