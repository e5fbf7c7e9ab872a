"""The compacted state topic: the last value per subscription and part, never a fact of
the timeline or the funnel (the embedded broker never compacts: the reader does)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from services.dashboard.app import build_app
from services.dashboard.settings import DashboardSettings
from shared.events.state import SubscriptionStateChanged, SubscriptionStateData
from shared.events.topics import SUBSCRIPTIONS_STATE
from tests.unit.dashboard.builders import T0, T0_MS, Topics
from tests.unit.dashboard.feeds import FixedFeed


def state(sid: str, part: str, seconds: int, **fields: object) -> SubscriptionStateChanged:
    return SubscriptionStateChanged(
        source="ordering" if part == "partner" else "provisioning",
        time=T0 + timedelta(seconds=seconds),
        subject=sid,
        correlation_id="corr-1",
        data=SubscriptionStateData(part=part, state={"id": sid, **fields}),  # type: ignore[arg-type]
    )


def test_the_last_value_of_each_part_is_kept_and_nothing_reaches_the_timeline() -> None:
    topics = Topics()
    topics.flow("s1", 1)
    for event in (
        state("s1", "partner", 1, status="pending"),
        state("s1", "publisher", 2, saasSubscriptionStatus="PendingFulfillmentStart"),
        state("s1", "partner", 3, status="active"),
    ):
        topics.publish(event, topic=SUBSCRIPTIONS_STATE)

    latest = topics.view.latest_state("s1")

    assert latest["partner"]["state"] == {"id": "s1", "status": "active"}
    assert latest["partner"]["offset"] == 2
    assert latest["publisher"]["state"]["saasSubscriptionStatus"] == "PendingFulfillmentStart"
    assert [e.type for e in topics.view.timeline("s1")] == ["SubscriptionPurchased"]
    assert topics.view.funnel.snapshot(T0_MS, 60)["stages"][0]["reached"] == 1
    rates = {t["topic"]: t["total"] for t in topics.view.rates.snapshot(T0_MS)}
    assert rates[SUBSCRIPTIONS_STATE] == 3


def test_the_state_api_answers_the_parts_or_a_404() -> None:
    topics = Topics()
    topics.publish(state("s1", "partner", 1, status="active"), topic=SUBSCRIPTIONS_STATE)
    client = TestClient(build_app(DashboardSettings(), view=topics.view, feed=FixedFeed()))

    body = client.get("/api/subscriptions/s1/state").json()
    assert body["subscriptionId"] == "s1"
    assert body["parts"]["partner"]["state"]["status"] == "active"
    missing = client.get("/api/subscriptions/s2/state")
    assert missing.status_code == 404 and missing.json()["error"]["target"] == "subscriptionId"


def test_the_dashboard_serves_prometheus_metrics_of_its_requests() -> None:
    client = TestClient(build_app(DashboardSettings(), view=Topics().view, feed=FixedFeed()))
    assert client.get("/api/funnel").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'service="dashboard"' in metrics.text
    assert 'route="/api/funnel"' in metrics.text
