"""The dashboard's HTTP API over a view fed with events (no broker): the timeline
contract the CLI relies on, each view's JSON, the pages and the live stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from aiokafka import TopicPartition
from fastapi.testclient import TestClient

from services.dashboard.app import build_app
from services.dashboard.settings import DashboardSettings
from shared.events.topics import ORDERING_SUBSCRIPTIONS, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.embedded_broker import free_port
from tests.support.http_thread import serving
from tests.unit.dashboard.builders import FLOW, T0, T0_MS, Topics, envelope
from tests.unit.dashboard.feeds import FixedFeed

NOW_MS = T0_MS + 10 * 60_000
TIMELINE_KEYS = {
    "topic",
    "partition",
    "offset",
    "type",
    "eventId",
    "occurredAt",
    "correlationId",
    "causationId",
    "payload",
}


def settings(**values: object) -> DashboardSettings:
    return DashboardSettings(_env_file=None, csp_env="development", **values)  # type: ignore[call-arg]


@pytest.fixture
def topics() -> Topics:
    topics = Topics()
    topics.flow("s-charged", 5)
    topics.flow("s-stuck", 2)
    return topics


@pytest.fixture
def feed() -> FixedFeed:
    return FixedFeed(
        {"billing.activations": PROVISIONING_SUBSCRIPTIONS},
        {TopicPartition(PROVISIONING_SUBSCRIPTIONS, 0): 6},
        {"billing.activations": {TopicPartition(PROVISIONING_SUBSCRIPTIONS, 0): 4}},
    )


@pytest.fixture
def client(topics: Topics, feed: FixedFeed) -> Iterator[TestClient]:
    app = build_app(settings(), view=topics.view, feed=feed, clock=lambda: NOW_MS)
    with TestClient(app) as test_client:
        yield test_client
    assert feed.started and feed.stopped  # the lifespan runs the feed


def test_a_subscriptions_timeline_is_the_fixed_contract_in_occurrence_order(
    client: TestClient, topics: Topics
) -> None:
    answer = client.get("/api/subscriptions/s-charged/timeline")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"subscriptionId", "events"}
    assert body["subscriptionId"] == "s-charged"
    assert [e["type"] for e in body["events"]] == list(FLOW)
    for item in body["events"]:
        assert set(item) == TIMELINE_KEYS
        assert isinstance(item["partition"], int) and isinstance(item["offset"], int)
        assert isinstance(item["payload"], dict)
    occurred = [e["occurredAt"] for e in body["events"]]
    assert occurred == sorted(occurred) and occurred[0] == T0.isoformat()
    assert body["events"][0]["topic"] == ORDERING_SUBSCRIPTIONS


def test_an_unknown_subscription_is_a_404_in_the_services_error_shape(client: TestClient) -> None:
    answer = client.get("/api/subscriptions/nobody/timeline")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "NotFound",
            "message": "no events of subscription nobody seen",
            "target": "subscriptionId",
        }
    }
    too_long = client.get(f"/api/subscriptions/{'x' * 65}/timeline")
    assert too_long.status_code == 404
    assert too_long.json()["error"]["target"] == "subscriptionId"


def test_a_correlation_timeline_names_each_events_subscription(
    client: TestClient, topics: Topics
) -> None:
    topics.publish(envelope("SubscriptionPurchased", "s-third", correlation_id="order-7"))
    topics.publish(
        envelope("ActivationLinkIssued", "s-third", correlation_id="order-7", at=T0 + timedelta(1))
    )
    body = client.get("/api/correlations/order-7/timeline").json()
    assert body["correlationId"] == "order-7"
    assert body["subscriptionIds"] == ["s-third"]
    assert [(e["type"], e["subscriptionId"]) for e in body["events"]] == [
        ("SubscriptionPurchased", "s-third"),
        ("ActivationLinkIssued", "s-third"),
    ]
    assert client.get("/api/correlations/none/timeline").status_code == 404


def test_the_funnel_api_counts_the_stages_and_lists_the_stuck(client: TestClient) -> None:
    funnel = client.get("/api/funnel", params={"stuckAfterSeconds": 60}).json()
    assert [s["reached"] for s in funnel["stages"]] == [2, 2, 1, 1, 1]
    assert [(s["subscriptionId"], s["stage"]) for s in funnel["stuck"]] == [
        ("s-stuck", "linkIssued")
    ]
    assert funnel["stuck"][0]["ageSeconds"] == 599.0
    # the configured default (300 s) applies without the parameter
    assert client.get("/api/funnel").json()["stuckAfterSeconds"] == 300.0


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_threshold_is_a_400_naming_it(client: TestClient, value: str) -> None:
    answer = client.get("/api/funnel", params={"stuckAfterSeconds": value})
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == "stuckAfterSeconds"


def test_lag_and_topics_and_dead_letters_have_their_apis(
    client: TestClient, topics: Topics
) -> None:
    [group] = client.get("/api/lag").json()["groups"]
    assert (group["group"], group["lag"]) == ("billing.activations", 2)

    rates = {t["topic"]: t for t in client.get("/api/topics").json()["topics"]}
    assert rates[ORDERING_SUBSCRIPTIONS]["total"] == 2
    assert rates["billing.ledger"]["total"] == 1
    assert "ordering.subscriptions.dlq" in rates  # listed before anything arrives

    topics.dead_letter(
        PROVISIONING_SUBSCRIPTIONS, b"{}", ValueError("no envelope"), consumer="billing.activations"
    )
    letters = client.get("/api/dead-letters", params={"topic": "provisioning.subscriptions.dlq"})
    assert letters.json()["totalCount"] == 1
    assert letters.json()["items"][0]["error"] == "ValueError: no envelope"
    wrong = client.get("/api/dead-letters", params={"topic": "ordering.subscriptions"})
    assert wrong.status_code == 400 and wrong.json()["error"]["target"] == "topic"
    assert client.get("/api/dead-letters", params={"limit": 0}).status_code == 400


def test_the_overview_holds_every_view(client: TestClient) -> None:
    overview = client.get("/api/overview").json()
    assert set(overview) >= {"topics", "lag", "funnel", "deadLetters", "feed", "version"}
    assert overview["subscriptions"] == 2
    assert overview["feed"]["caughtUp"] is True


def test_the_pages_are_served_with_a_policy_that_loads_only_their_own_files(
    client: TestClient,
) -> None:
    index = client.get("/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert '<div id="funnel"' in index.text
    page = client.get("/subscriptions/s-charged")
    assert page.status_code == 200 and 'id="timeline"' in page.text
    assert client.get("/correlations/corr-1").status_code == 200
    assert client.get("/static/timeline.js").status_code == 200
    for path in ("/static/common.js", "/static/index.js", "/static/dashboard.css"):
        assert "http" not in client.get(path).text.replace("http://www.w3.org/2000/svg", "")


def test_health_is_open_and_readiness_waits_until_the_topics_were_read(
    topics: Topics,
) -> None:
    feed = FixedFeed(caught_up=False)
    with TestClient(build_app(settings(), view=topics.view, feed=feed)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 503
        feed.caught_up = True
        assert client.get("/readyz").json()["status"] == "ready"


def test_the_live_stream_sends_the_overview_as_server_sent_events(
    topics: Topics, feed: FixedFeed
) -> None:
    app = build_app(settings(csp_dashboard_refresh_seconds=0.1), view=topics.view, feed=feed)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/stream"
    with serving(app, port, "dashboard-stream"), httpx.stream("GET", url, timeout=10) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        versions = []
        lines = answer.iter_lines()
        for line in lines:
            if line.startswith("data: "):
                versions.append(json.loads(line.removeprefix("data: "))["version"])
                if len(versions) == 1:
                    topics.publish(envelope("SubscriptionPurchased", "s-new"))
                elif versions[-1] > versions[0]:
                    break
        assert versions[-1] == versions[0] + 1  # the new event showed on the stream
