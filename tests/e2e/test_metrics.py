"""`/metrics` on every service, read as Prometheus would (prometheus_client's parser):
after a purchase and its activation through the APIs, each service's counters and
histograms for what it served, consumed and produced have moved; a redelivered event
and an unreadable one move the duplicate and dead-letter counters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.events.topics import ORDERING_SUBSCRIPTIONS
from tests.e2e.actors import Partner, Publisher, bought_and_charged
from tests.e2e.conftest import System
from tests.support.polling import eventually
from tests.support.topics import publish_raw, read_records

pytestmark = pytest.mark.e2e

LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "quantity": 2,
    "termDuration": "P1M",
    "billingCycle": "monthly",
}
ONE = "/api/saas/subscriptions/{subscriptionId}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(f"{url}/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, labels: dict[str, str]) -> float:
    """The sum over the series of `name` that carry all of `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@dataclass(frozen=True)
class Moves:
    """`name{labels}` grew by at least `by` on `service`."""

    service: str
    name: str
    labels: dict[str, str]
    by: float = 1

    def short_of(self, before: dict[str, Samples], after: dict[str, Samples]) -> str | None:
        labels = {"service": self.service, **self.labels}
        grew = total(after[self.service], self.name, labels) - total(
            before[self.service], self.name, labels
        )
        return None if grew >= self.by else f"{self.service} {self.name}{labels}: +{grew}"


def consumed(service: str, consumer: str, *types: str) -> Iterable[Moves]:
    for kind in types:
        labels = {"consumer": consumer, "type": kind}
        yield Moves(service, "csp_events_consumed_total", labels)
        yield Moves(service, "csp_event_handler_seconds_count", labels)
        yield Moves(service, "csp_event_handler_seconds_bucket", {**labels, "le": "+Inf"})


def produced(service: str, topic: str, *types: str) -> Iterable[Moves]:
    for kind in types:
        yield Moves(service, "csp_events_produced_total", {"topic": topic, "type": kind})


def served(service: str, method: str, route: str, status: str) -> Moves:
    labels = {"method": method, "route": route, "status": status}
    return Moves(service, "csp_http_request_seconds_count", labels)


EXPECTED = [
    served("ordering", "POST", "/v1/customers/{cid}/carts/{cartId}/checkout", "201"),
    served("ordering", "GET", "/v1/customers/{cid}/subscriptions/{sid}", "200"),
    *produced("ordering", "ordering.subscriptions", "SubscriptionPurchased"),
    *consumed(
        "ordering",
        "ordering.subscription-view",
        "ActivationLinkIssued",
        "LicensesAssigned",
        "ActivationCompleted",
    ),
    served("provisioning", "POST", "/api/saas/subscriptions/resolve", "200"),
    served("provisioning", "PUT", f"{ONE}/licenses", "200"),
    served("provisioning", "POST", f"{ONE}/activate", "200"),
    *consumed("provisioning", "provisioning.purchases", "SubscriptionPurchased"),
    *produced(
        "provisioning",
        "provisioning.subscriptions",
        "ActivationLinkIssued",
        "LicensesAssigned",
        "ActivationCompleted",
    ),
    served(
        "billing", "GET", "/v1/customers/{customerId}/subscriptions/{subscriptionId}/charges", "200"
    ),
    *consumed("billing", "billing.activations", "ActivationCompleted"),
    # billing reads provisioning's topic and skips the facts that are not its business
    Moves("billing", "csp_events_skipped_total", {"type": "ActivationLinkIssued"}),
    Moves("billing", "csp_events_skipped_total", {"type": "LicensesAssigned"}),
    *produced("billing", "billing.ledger", "ChargePosted"),
]


async def test_a_purchase_and_its_activation_move_every_services_counters_and_histograms(
    system: System, partner: Partner, contoso: Publisher
) -> None:
    urls = {
        "ordering": system.ordering,
        "provisioning": system.provisioning,
        "billing": system.billing,
    }
    before = {name: await scrape(url) for name, url in urls.items()}

    cid, sid = await bought_and_charged(partner, contoso, LINE)

    async def shortfalls() -> list[str]:
        after = {name: await scrape(url) for name, url in urls.items()}
        return [s for m in EXPECTED if (s := m.short_of(before, after)) is not None]

    # The last hops (ordering's view of the activation, billing's relay) may trail the charge.
    assert await eventually(shortfalls, lambda short: not short, what="metrics moved") == []

    for name, url in urls.items():
        samples = await scrape(url)
        labels = {"service": name}
        for gauge in ("csp_outbox_unsent_rows", "csp_outbox_oldest_unsent_age_seconds"):
            assert any(n == gauge and set(labels.items()) <= ls for n, ls in samples), (name, gauge)
        assert total(samples, "csp_outbox_oldest_unsent_age_seconds", labels) >= 0


async def test_a_redelivered_event_and_an_unreadable_one_move_duplicates_and_dead_letters(
    system: System, partner: Partner
) -> None:
    before = {"provisioning": await scrape(system.provisioning)}
    cid, order = await partner.buy(LINE)
    sid = order["lineItems"][0]["subscriptionId"]
    # Provisioning has handled the purchase once it issued the link.
    await partner.wait_for_subscription(
        cid, sid, lambda s: s["activationLink"] is not None, "activation link"
    )
    [purchase] = await read_records(
        system.bootstrap,
        ORDERING_SUBSCRIPTIONS,
        at_least=1,
        where=lambda r: r.key is not None and r.key.decode() == sid,
    )
    # The same record again (a redelivery), then one nobody can read.
    await publish_raw(
        system.bootstrap, ORDERING_SUBSCRIPTIONS, sid, purchase.value, purchase.headers
    )
    await publish_raw(system.bootstrap, ORDERING_SUBSCRIPTIONS, sid, b"{not json")

    consumer = {"consumer": "provisioning.purchases"}
    expected = [
        Moves(
            "provisioning",
            "csp_events_duplicate_total",
            {**consumer, "type": "SubscriptionPurchased"},
        ),
        Moves("provisioning", "csp_events_dead_lettered_total", consumer),
    ]

    async def shortfalls() -> list[str]:
        after = {"provisioning": await scrape(system.provisioning)}
        return [s for m in expected if (s := m.short_of(before, after)) is not None]

    assert await eventually(shortfalls, lambda short: not short, what="metrics moved") == []
