"""How much memory the dashboard's view holds: synthetic records of realistic size fed
straight into a PipelineView (no broker), memory read as they go.

    .venv/bin/python -m benchmarks.dashboard_memory --events 200000
    .venv/bin/python -m benchmarks.dashboard_memory --events 1000000 --no-tracemalloc

Each subscription gets the happy path (purchase, link, licenses, activation, charge: the
real payloads' fields, ~400 to ~900 bytes a record) and the partner's state record; one
in 20 stops after its link (it stays "stuck"), and one in 10 later gets a renewal's
charge, after many others (a late event of a subscription that may have been evicted).
Prints the view's structure sizes and memory at each fifth of the run: tracemalloc's
current and peak (what Python allocated, the view's own cost) and the process's RSS.
Numbers in docs/dashboard.md ("Memory") come from this.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from services.dashboard.records import TopicRecord
from services.dashboard.view import PipelineView, ViewLimits
from shared.events.topics import (
    BILLING_LEDGER,
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
    SUBSCRIPTIONS_STATE,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def _data(kind: str, sid: str, at: str) -> dict:
    common = {"subscriptionId": sid}
    if kind == "SubscriptionPurchased":
        return common | {
            "orderId": str(uuid.uuid4()),
            "lineItemNumber": 0,
            "cspPartnerId": "partner-1",
            "customerId": str(uuid.uuid4()),
            "customerName": "Adatum Corporation",
            "purchasedBy": "alice@partner.example",
            "publisherId": "contoso",
            "offerId": "contoso-crm",
            "offerName": "Contoso CRM",
            "planId": "standard",
            "planName": "Standard",
            "quantity": 5,
            "termDuration": "P1M",
            "billingCycle": "monthly",
            "currency": "USD",
            "pricePerSeat": "10.00",
            "friendlyName": "CRM for sales",
            "resellerMpnId": None,
            "autoRenewEnabled": True,
            "purchasedAt": at,
            "refundableUntil": at,
        }
    if kind == "ActivationLinkIssued":
        return common | {
            "link": "https://contoso.example/landing?token=" + uuid.uuid4().hex * 4,
            "tokenExpiresAt": at,
        }
    if kind == "LicensesAssigned":
        return common | {"assignedCount": 5, "quantity": 5}
    if kind == "ActivationCompleted":
        return common | {
            "cspPartnerId": "partner-1",
            "customerId": str(uuid.uuid4()),
            "publisherId": "contoso",
            "offerId": "contoso-crm",
            "offerName": "Contoso CRM",
            "planId": "standard",
            "quantity": 5,
            "licensesAssigned": 5,
            "termDuration": "P1M",
            "billingCycle": "monthly",
            "currency": "USD",
            "pricePerSeat": "10.00",
            "autoRenewEnabled": True,
            "termStart": at,
            "termEnd": at,
        }
    if kind == "ChargePosted":
        return common | {
            "chargeId": str(uuid.uuid4()),
            "customerId": str(uuid.uuid4()),
            "cspPartnerId": "partner-1",
            "type": "charge",
            "amount": "50.00",
            "currency": "USD",
            "periodStart": at,
            "periodEnd": at,
            "invoiceId": str(uuid.uuid4()),
        }
    # the partner's part of subscriptions.state
    return {
        "part": "partner",
        "state": {
            "id": sid,
            "offerId": "contoso-crm",
            "planId": "standard",
            "quantity": 5,
            "status": "Subscribed",
            "friendlyName": "CRM for sales",
            "autoRenewEnabled": True,
            "termStart": at,
            "termEnd": at,
        },
    }


TOPIC = {
    "SubscriptionPurchased": ORDERING_SUBSCRIPTIONS,
    "ActivationLinkIssued": PROVISIONING_SUBSCRIPTIONS,
    "LicensesAssigned": PROVISIONING_SUBSCRIPTIONS,
    "ActivationCompleted": PROVISIONING_SUBSCRIPTIONS,
    "ChargePosted": BILLING_LEDGER,
    "SubscriptionStateChanged": SUBSCRIPTIONS_STATE,
}
FLOW = tuple(TOPIC)[:5]
# How many subscriptions each funnel stage should count: what `records` generated.
EXPECTED = [0] * len(FLOW)


def records(count: int) -> Iterator[TopicRecord]:
    """`count` records, subscription after subscription (with the late renewals);
    EXPECTED counts the stages generated (each subscription's stages come in order)."""
    offsets: dict[str, int] = {}
    renewals: list[str] = []
    n = made = 0
    while made < count:
        sid, corr = str(uuid.uuid4()), str(uuid.uuid4())
        kinds = [*FLOW[: 2 if n % 20 == 7 else 5], "SubscriptionStateChanged"]
        if n % 10 == 3:
            renewals.append(sid)
        if n % 10 == 5 and len(renewals) > 1000:  # a renewal of one bought ~10,000 ago
            kinds.append(("ChargePosted", renewals.pop(0)))
        for kind in kinds:
            subject = sid
            if isinstance(kind, tuple):
                kind, subject = kind
            at = T0 + timedelta(seconds=made)
            body = {
                "id": str(uuid.uuid4()),
                "type": kind,
                "version": 1,
                "source": TOPIC[kind].split(".")[0],
                "time": at.isoformat(),
                "subject": subject,
                "correlationId": corr,
                "causationId": str(uuid.uuid4()),
                "data": _data(kind, subject, at.isoformat()),
            }
            topic = TOPIC[kind]
            offset = offsets.get(topic, 0)
            offsets[topic] = offset + 1
            value = json.dumps(body, separators=(",", ":")).encode()
            if subject == sid and kind in FLOW:
                EXPECTED[FLOW.index(kind)] += 1
            yield TopicRecord(topic, 0, offset, T0_MS + made, subject.encode(), value, {})
            made += 1
            if made >= count:
                return
        n += 1


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--max-subscriptions", type=int, default=ViewLimits.max_subscriptions)
    parser.add_argument("--max-events", type=int, default=ViewLimits.max_events)
    parser.add_argument("--max-evicted-ids", type=int, default=ViewLimits.max_evicted_ids)
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (faster)")
    args = parser.parse_args()

    limits = ViewLimits(
        max_subscriptions=args.max_subscriptions,
        max_events=args.max_events,
        max_evicted_ids=args.max_evicted_ids,
    )
    print(f"limits: {limits}")
    gc.collect()
    rss0 = rss_mb()
    if not args.no_tracemalloc:
        tracemalloc.start()
    view = PipelineView(limits=limits)
    started = time.perf_counter()
    step = max(args.events // 5, 1)
    taken = wire_bytes = 0
    for record in records(args.events):
        view.add(record)
        taken += 1
        wire_bytes += len(record.value)
        if taken % step == 0 or taken == args.events:
            traced = ""
            if not args.no_tracemalloc:
                current, peak = tracemalloc.get_traced_memory()
                traced = f"traced {current / 2**20:7.1f} MiB (peak {peak / 2**20:7.1f}) "
            sizes = view.sizes()
            print(
                f"{taken:>9} records ({wire_bytes / taken:.0f} B avg): {traced}"
                f"RSS +{rss_mb() - rss0:7.1f} MiB | held {sizes['subscriptions']} subs "
                f"({sizes['open']} open), {sizes['events']} events, "
                f"{sizes['evictedIds']} evicted ids, {sizes['correlations']} correlations, "
                f"{sizes['rateSeconds']} rate seconds",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    funnel = view.funnel.snapshot(T0_MS + taken, stuck_after_s=3600)
    print(f"{taken / elapsed:,.0f} records/s; window {view.window()}")
    reached = [s["reached"] for s in funnel["stages"]]
    print(f"funnel reached: {reached}, generated: {EXPECTED}, exact: {reached == EXPECTED}")


if __name__ == "__main__":
    main()
