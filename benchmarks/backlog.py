"""Each service's event path on a backlog: the service is stopped, real events pile up on
its input topic, it is started, and its consumer group's committed offset is followed
until it reaches the end. The rate is timed from the first committed progress to the
end (so it leaves out the process start and the group join) and covers consume +
handler + store transaction + outbox (the relay publishes meanwhile, in the same process).

Sequence (one purchase backlog feeds all three): provisioning stopped, N purchases
bought -> ordering and billing stopped -> provisioning started, drains N
`SubscriptionPurchased` -> the publisher activates the N (held until then) ->
ordering started, drains the 3N provisioning facts -> billing started, drains the same
3N (it handles the N `ActivationCompleted`, skips the others).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from benchmarks.flow import CART_LINES
from benchmarks.kafka_watch import GroupOffsets, partitions
from benchmarks.load import Flow, now
from benchmarks.procstat import ProcessBook
from benchmarks.stats import drain_rate
from benchmarks.system import System
from services.billing.entrypoints.consumers import SUBSCRIPTION_FACTS
from services.ordering.entrypoints.consumers import SUBSCRIPTION_VIEW
from services.provisioning.entrypoints.consumers import PURCHASES
from shared.messaging.consumer import ConsumerGroup

GROUPS: dict[str, ConsumerGroup] = {
    "provisioning": PURCHASES,
    "ordering": SUBSCRIPTION_VIEW,
    "billing": SUBSCRIPTION_FACTS,
}
DRAIN_TIMEOUT_S = 90.0
PHASE = "backlog"


async def drain(
    system: System, book: ProcessBook, producer: AIOKafkaProducer, service: str
) -> dict[str, Any]:
    """Start `service` on the backlog of its group; how fast it worked it off."""
    group = GROUPS[service]
    assigned = await partitions(producer, group.topic)

    def cpu() -> float:
        book.sample()
        return book.cpu().get(service, 0.0)

    async with GroupOffsets(system.bootstrap, group.name, assigned) as offsets:
        end = await offsets.end()
        system.start(service)
        samples = await offsets.follow(end, DRAIN_TIMEOUT_S, probe=cpu)
    await system.wait_ready(service)
    counts = await _event_counts(system, service)
    timed = drain_rate([(t, committed) for t, committed, _ in samples], end)
    result: dict[str, Any] = {
        "group": group.name,
        "topic": group.topic,
        "backlog": end - samples[0][1],
        "counts": counts,
    }
    if timed is None:
        result["error"] = "the drain was not seen (too short, or it did not finish)"
        return result
    cpu_s = samples[timed.last][2] - samples[timed.first][2]
    handled_share = counts.get("handled", 0) / max(1, sum(counts.values()))
    result |= {
        "timed_events": timed.events,
        "seconds": round(timed.seconds, 3),
        "events_per_s": round(timed.per_second, 1),
        "handled_per_s": round(timed.per_second * handled_share, 1),
        "cpu_ms_per_event": round(cpu_s * 1000 / timed.events, 3),
        "samples": timed.samples,
    }
    return result


async def _event_counts(system: System, service: str) -> dict[str, int]:
    """This incarnation's outcomes (handled, duplicate, skipped...) from /readyz."""
    async with aiohttp.ClientSession() as http, http.get(f"{system.url(service)}/readyz") as r:
        body = await r.json()
    counts: dict[str, int] = {}
    for consumer in body.get("events", []):
        for name, count in consumer["counts"].items():
            counts[name] = counts.get(name, 0) + count
    return {name: count for name, count in counts.items() if count}


async def run_backlogs(
    system: System, book: ProcessBook, flow: Flow, producer: AIOKafkaProducer, cid: str, n: int
) -> dict[str, Any]:
    began = now()
    await system.stop("provisioning")
    flow.publishing.clear()  # the publisher waits until provisioning has drained
    slots = asyncio.Semaphore(8)

    async def cart(first: int) -> None:
        async with slots:
            await flow.buy(PHASE, cid, first, min(CART_LINES, n - first))

    await asyncio.gather(*(cart(first) for first in range(0, n, CART_LINES)))
    await asyncio.gather(system.stop("ordering"), system.stop("billing"))
    results = {"provisioning": await drain(system, book, producer, "provisioning")}
    await _until(lambda: all(s.link or s.failed for s in flow.of(PHASE)), "links", flow)
    flow.publishing.set()
    await _until(lambda: all(s.activated or s.failed for s in flow.of(PHASE)), "activations", flow)
    results["ordering"] = await drain(system, book, producer, "ordering")
    results["billing"] = await drain(system, book, producer, "billing")
    await flow.until_finished(PHASE, timeout_s=60)
    return {"purchases": n, "wall_s": round(now() - began, 1), "services": results}


async def _until(condition: Any, what: str, flow: Flow, timeout_s: float = 60) -> None:
    deadline = now() + timeout_s
    while not condition():
        if now() > deadline:
            flow.errors.append(f"{PHASE}: not all {what} within {timeout_s:.0f} s")
            return
        await asyncio.sleep(0.05)
