"""The view is bounded: fed many more subscriptions, events and dead letters than its
limits, every structure stays within them, the funnel's counts stay exact, and what was
evicted is answered as evicted, not as unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.dashboard.app import build_app
from services.dashboard.rates import HORIZON_SECONDS, MAX_SECONDS_KEPT, TopicRates
from services.dashboard.records import TopicRecord
from services.dashboard.settings import DashboardSettings
from services.dashboard.view import PipelineView, ViewLimits
from shared.events.state import SubscriptionStateChanged, SubscriptionStateData
from shared.events.topics import (
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
    SUBSCRIPTIONS_STATE,
)
from tests.unit.dashboard.builders import T0, T0_MS, Topics, envelope
from tests.unit.dashboard.feeds import FixedFeed

HOUR_MS = 3_600_000


def bounded(**limits: int) -> Topics:
    return Topics(PipelineView(limits=ViewLimits(**limits)))


def counts(topics: Topics) -> dict[str, tuple[int, int]]:
    snapshot = topics.view.funnel.snapshot(T0_MS + HOUR_MS, stuck_after_s=60)
    return {s["key"]: (s["reached"], s["inStage"]) for s in snapshot["stages"]}


def within(topics: Topics, limits: ViewLimits) -> None:
    sizes = topics.view.sizes()
    assert sizes["subscriptions"] <= limits.max_subscriptions
    assert sizes["funnelProgress"] <= limits.max_subscriptions
    assert sizes["correlationLinks"] <= sizes["events"]
    assert sizes["events"] == sizes["eventsCounted"] <= limits.max_events
    assert sizes["evictedIds"] <= limits.max_evicted_ids
    assert sizes["deadLetters"] <= limits.max_dead_letters


def test_many_more_subscriptions_than_the_limit_keep_every_structure_within_it() -> None:
    topics = bounded(max_subscriptions=40, max_evicted_ids=300)
    limits = topics.view.limits
    for n in range(1000):
        topics.flow(f"s{n}", 5, start=T0 + timedelta(seconds=n))
        topics.publish(
            SubscriptionStateChanged(
                source="ordering",
                time=T0 + timedelta(seconds=n),
                subject=f"s{n}",
                correlation_id="corr-1",
                data=SubscriptionStateData(part="partner", state={"id": f"s{n}"}),
            ),
            topic=SUBSCRIPTIONS_STATE,
        )
        if n % 97 == 0:
            within(topics, limits)

    within(topics, limits)
    sizes = topics.view.sizes()
    assert sizes["subscriptions"] == 40 and sizes["events"] == 200
    assert sizes["statesHeld"] == 40 and sizes["evictedIds"] == 300
    # the counts are every subscription's, evicted or not
    assert counts(topics) == {
        "purchased": (1000, 0),
        "linkIssued": (1000, 0),
        "licensed": (1000, 0),
        "activated": (1000, 0),
        "charged": (1000, 1000),
    }
    window = topics.view.window()
    assert (window["subscriptionsEvicted"], window["evictedIdsForgotten"]) == (960, 660)
    # the most recently touched are the ones held
    assert len(topics.view.timeline("s999")) == 5
    assert topics.view.timeline("s0") == []
    assert topics.view.latest_state("s999")["partner"]["state"] == {"id": "s999"}
    assert topics.view.correlation_timeline("corr-1")[-1].subject == "s999"
    assert len(topics.view.correlation_timeline("corr-1")) == 200


def test_stuck_subscriptions_are_evicted_last_and_still_listed() -> None:
    topics = bounded(max_subscriptions=30)
    for n in range(10):  # stuck in "link issued" from the start
        topics.flow(f"stuck{n}", 2, start=T0 + timedelta(seconds=n))
    for n in range(500):
        topics.flow(f"done{n}", 5, start=T0 + timedelta(minutes=1, seconds=n))

    assert topics.view.subscription_count() == 30
    assert all(topics.view.knows_subscription(f"stuck{n}") for n in range(10))
    funnel = topics.view.funnel.snapshot(T0_MS + HOUR_MS, stuck_after_s=60)
    assert funnel["stuckCount"] == 10
    assert [s["subscriptionId"] for s in funnel["stuck"]] == [f"stuck{n}" for n in range(10)]
    assert counts(topics)["linkIssued"] == (510, 10)
    assert counts(topics)["charged"] == (500, 500)
    assert funnel["evicted"] == 480


def test_when_every_one_held_may_be_stuck_the_least_recently_touched_goes() -> None:
    topics = bounded(max_subscriptions=5)
    for n in range(8):
        topics.flow(f"s{n}", 1, start=T0 + timedelta(seconds=n))
    topics.publish(envelope("ActivationLinkIssued", "s3", at=T0 + timedelta(minutes=1)))
    topics.flow("s8", 1)
    held = [f"s{n}" for n in range(9) if topics.view.knows_subscription(f"s{n}")]
    assert held == ["s3", "s5", "s6", "s7", "s8"]  # s3 touched again: kept
    assert counts(topics)["purchased"] == (9, 8)


def test_a_late_event_of_an_evicted_subscription_moves_the_counts_without_recounting() -> None:
    topics = bounded(max_subscriptions=10)
    topics.flow("old", 5)
    topics.flow("old-stuck", 2)  # may be stuck: held...
    for n in range(20):
        topics.flow(f"s{n}", 5, start=T0 + timedelta(seconds=n))
    assert topics.view.knows_subscription("old-stuck")
    for n in range(6):  # ...until those that may be stuck fill half the window
        topics.flow(f"stuck{n}", 2, start=T0 + timedelta(minutes=1, seconds=n))
    assert not topics.view.knows_subscription("old")
    assert not topics.view.knows_subscription("old-stuck")
    assert topics.view.sizes()["open"] == 5
    before = counts(topics)
    assert before["purchased"] == (28, 0) and before["charged"] == (21, 21)
    assert before["linkIssued"] == (28, 7)

    # a renewal's charge of a charged one: nothing moves
    topics.publish(envelope("ChargePosted", "old", at=T0 + timedelta(days=30)))
    assert counts(topics) == before
    # its cancellation: out of "charged", into ended
    topics.publish(envelope("SubscriptionCancelled", "old", at=T0 + timedelta(days=31)))
    after = counts(topics)
    assert after["purchased"] == (28, 0) and after["charged"] == (21, 20)
    assert topics.view.funnel.snapshot(T0_MS, 60)["ended"] == 1
    # the stuck one evicted moves on from where it was
    topics.publish(envelope("LicensesAssigned", "old-stuck", at=T0 + timedelta(days=1)))
    assert counts(topics)["linkIssued"] == (28, 6)
    assert counts(topics)["licensed"] == (22, 1)
    assert counts(topics)["purchased"] == (28, 0)

    # held again, its timeline says that its earlier events are gone
    assert [e.type for e in topics.view.timeline("old")] == [
        "ChargePosted",
        "SubscriptionCancelled",
    ]
    assert topics.view.timeline_gaps("old") == {"eventsDropped": 0, "evictedBefore": True}


def test_an_evicted_stuck_one_that_comes_back_keeps_its_age() -> None:
    topics = bounded(max_subscriptions=2)
    topics.flow("stuck", 2)  # in "link issued" since T0 + 1 s
    topics.flow("a", 2, start=T0 + timedelta(minutes=1))
    topics.flow("b", 2, start=T0 + timedelta(minutes=2))
    assert not topics.view.knows_subscription("stuck")
    topics.publish(envelope("InvoiceIssued", "stuck", at=T0 + timedelta(minutes=3)))
    funnel = topics.view.funnel.snapshot(T0_MS + HOUR_MS, stuck_after_s=60)
    [listed] = [s for s in funnel["stuck"] if s["subscriptionId"] == "stuck"]
    assert (listed["stage"], listed["ageSeconds"]) == ("linkIssued", 3599.0)
    assert counts(topics)["linkIssued"] == (3, 3)


def test_those_that_may_be_stuck_hold_at_most_half_the_window() -> None:
    topics = bounded(max_subscriptions=20)
    for n in range(200):  # abandoned purchases: never activated
        topics.flow(f"abandoned{n}", 2, start=T0 + timedelta(seconds=n))
        topics.flow(f"done{n}", 5, start=T0 + timedelta(seconds=n))
    sizes = topics.view.sizes()
    assert sizes["subscriptions"] == 20 and 0 < sizes["open"] <= 10
    assert topics.view.knows_subscription("done199") and topics.view.knows_subscription("done190")
    assert counts(topics)["linkIssued"] == (400, 200)


def test_ids_of_the_evicted_are_bounded_too_and_then_unknown_is_not_claimed() -> None:
    topics = bounded(max_subscriptions=2, max_evicted_ids=3)
    for n in range(10):
        topics.flow(f"s{n}", 5)
    assert topics.view.sizes()["evictedIds"] == 3
    assert [topics.view.was_evicted(f"s{n}") for n in (7, 6, 5)] == [True, True, True]
    assert topics.view.was_evicted("s0") is None  # forgotten: cannot be told apart
    assert topics.view.window()["evictedIdsForgotten"] == 5
    assert counts(topics)["charged"] == (10, 10)
    assert bounded().view.was_evicted("s0") is False


def test_a_timeline_keeps_its_latest_events_within_the_per_subscription_cap() -> None:
    topics = bounded(max_events_per_subscription=20, max_events=50)
    topics.flow("s1", 5)
    for n in range(300):
        topics.publish(envelope("InvoiceIssued", "s1", at=T0 + timedelta(hours=1, seconds=n)))
    timeline = topics.view.timeline("s1")
    assert len(timeline) == 20
    assert timeline[-1].occurred_at == T0 + timedelta(hours=1, seconds=299)
    assert topics.view.timeline_gaps("s1") == {"eventsDropped": 285, "evictedBefore": False}
    assert counts(topics)["charged"] == (1, 1)  # the funnel saw the dropped ones
    assert topics.view.correlation_timeline("corr-1") == timeline


def test_events_in_all_stay_within_max_events() -> None:
    topics = bounded(max_events=100, max_events_per_subscription=10, max_subscriptions=1000)
    for n in range(100):
        topics.flow(f"s{n}", 5)
        for k in range(5):
            topics.publish(envelope("InvoiceIssued", f"s{n}", at=T0 + timedelta(minutes=k + 1)))
    within(topics, topics.view.limits)
    assert topics.view.sizes()["events"] == 100
    assert topics.view.subscription_count() == 10
    assert counts(topics)["charged"] == (100, 100)


def test_dead_letters_keep_the_newest_and_count_the_dropped() -> None:
    topics = bounded(max_dead_letters=10, max_payload_bytes=1000)
    for n in range(100):
        topics.dead_letter(
            PROVISIONING_SUBSCRIPTIONS,
            envelope("ActivationCompleted", f"s{n}").to_bytes(),
            ValueError(f"bad {n}"),
            consumer="billing.activations",
            at_ms=T0_MS + n,
        )
    listed = topics.view.dead_letters()
    assert (listed["totalCount"], listed["dropped"], len(listed["items"])) == (10, 90, 10)
    assert listed["items"][0]["error"] == "ValueError: bad 99"
    assert listed["items"][0]["subject"] == "s99"
    assert topics.view.dead_letters(subject="s3")["totalCount"] == 0

    topics.dead_letter(
        PROVISIONING_SUBSCRIPTIONS,
        b'{"x": "' + b"y" * 5000 + b'"}',
        ValueError("big"),
        consumer="c",
    )
    [big] = topics.view.dead_letters(limit=1)["items"]
    assert big["payload"] == "(payload not kept: 5009 bytes, over the dashboard's limit)"


def test_an_event_over_the_payload_limit_keeps_its_place_but_not_its_payload() -> None:
    topics = bounded(max_payload_bytes=2000)
    topics.publish(envelope("SubscriptionPurchased", "s1", data={"blob": "x" * 5000}))
    [event] = topics.view.timeline("s1")
    assert event.raw == b"" and "not kept" in event.payload
    assert counts(topics)["purchased"] == (1, 1)


def test_rates_keep_a_sliding_window_of_seconds_however_long_nobody_asks() -> None:
    rates = TopicRates(["a"])
    start = T0_MS
    for second in range(20_000):  # five and a half hours, one record a second
        rates.count("a", start + second * 1000)
        assert rates.seconds_kept() <= MAX_SECONDS_KEPT
    now = start + 19_999 * 1000
    [a] = rates.snapshot(now)
    assert (a["total"], a["lastMinute"], sum(a["series"])) == (20_000, 60, HORIZON_SECONDS)
    assert rates.seconds_kept() <= HORIZON_SECONDS


def test_a_record_from_the_far_future_does_not_grow_the_rates() -> None:
    rates = TopicRates(["a"])
    rates.count("a", T0_MS + 10 * 365 * 24 * HOUR_MS)
    for second in range(5000):
        rates.count("a", T0_MS + second * 1000)
    assert rates.seconds_kept() <= MAX_SECONDS_KEPT


def test_duplicates_are_still_recognised_within_the_window() -> None:
    topics = bounded(max_subscriptions=10)
    event = topics.publish(envelope("SubscriptionPurchased", "s1"))
    topics.publish(event)
    assert topics.view.duplicates == 1 and len(topics.view.timeline("s1")) == 1


# -- what the API and the settings say ----------------------------------------------------


def settings(**values: object) -> DashboardSettings:
    return DashboardSettings(_env_file=None, csp_env="development", **values)  # type: ignore[call-arg]


@pytest.fixture
def client() -> TestClient:
    topics = Topics(PipelineView(limits=settings(csp_dashboard_max_subscriptions=2).limits()))
    topics.flow("s-old", 5)
    topics.flow("s-gone", 5, start=T0 + timedelta(seconds=1))
    topics.flow("s-new", 5, start=T0 + timedelta(seconds=2))
    topics.publish(envelope("SubscriptionPurchased", "s-newest", correlation_id="corr-2"))
    topics.publish(envelope("ChargePosted", "s-old", at=T0 + timedelta(days=30)))  # back
    return TestClient(build_app(settings(), view=topics.view, feed=FixedFeed()))


def test_an_evicted_timeline_is_a_404_that_says_so_and_names_the_window(
    client: TestClient,
) -> None:
    answer = client.get("/api/subscriptions/s-gone/timeline")
    assert answer.status_code == 404
    body = answer.json()
    assert body["evicted"] is True
    assert body["error"]["code"] == "NotFound" and body["error"]["target"] == "subscriptionId"
    message = body["error"]["message"]
    assert "older than the dashboard's window" in message and "evicted" in message
    assert "2 most recently active" in message and "CSP_DASHBOARD_MAX_SUBSCRIPTIONS" in message
    assert body["window"]["maxSubscriptions"] == 2
    assert body["window"]["subscriptionsEvicted"] == 3

    state = client.get("/api/subscriptions/s-gone/state").json()
    assert state["evicted"] is True and "evicted" in state["error"]["message"]
    # never seen, and nothing forgotten: the plain 404
    assert client.get("/api/subscriptions/nobody/timeline").json() == {
        "error": {
            "code": "NotFound",
            "message": "no events of subscription nobody seen",
            "target": "subscriptionId",
        }
    }
    gone = client.get("/api/correlations/nothing/timeline").json()
    assert gone["evicted"] is None and "window" in gone["error"]["message"]


def test_a_timeline_held_in_part_says_so(client: TestClient) -> None:
    body = client.get("/api/subscriptions/s-old/timeline").json()
    assert [e["type"] for e in body["events"]] == ["ChargePosted"]
    assert body["evicted"] is True and body["evictedBefore"] is True
    assert "evicted from the dashboard's window" in body["message"]
    whole = client.get("/api/subscriptions/s-newest/timeline").json()
    assert set(whole) == {"subscriptionId", "events"}  # the contract, as always


def test_the_overview_and_the_funnel_say_how_full_the_window_is(client: TestClient) -> None:
    overview = client.get("/api/overview").json()
    assert overview["window"]["subscriptionsHeld"] == 2
    assert overview["window"]["subscriptionsEvicted"] == 3
    assert overview["funnel"]["evicted"] == 2  # s-old came back
    assert [s["reached"] for s in overview["funnel"]["stages"]] == [4, 3, 3, 3, 3]
    assert overview["deadLetters"]["dropped"] == 0


def test_the_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().limits() == ViewLimits()
    assert ViewLimits().max_subscriptions == 50_000 and ViewLimits().max_dead_letters == 1_000
    for name, value in {
        "CSP_DASHBOARD_MAX_SUBSCRIPTIONS": "123",
        "CSP_DASHBOARD_MAX_EVENTS": "4567",
        "CSP_DASHBOARD_MAX_EVENTS_PER_SUBSCRIPTION": "89",
        "CSP_DASHBOARD_MAX_EVICTED_IDS": "0",
        "CSP_DASHBOARD_MAX_DEAD_LETTERS": "10",
        "CSP_DASHBOARD_MAX_PAYLOAD_BYTES": "2048",
    }.items():
        monkeypatch.setenv(name, value)
    assert settings().limits() == ViewLimits(123, 4567, 89, 0, 10, 2048)
    monkeypatch.setenv("CSP_DASHBOARD_MAX_EVENTS", "10")
    with pytest.raises(ValidationError, match="CSP_DASHBOARD_MAX_EVENTS"):
        settings()
    monkeypatch.setenv("CSP_DASHBOARD_MAX_SUBSCRIPTIONS", "0")
    with pytest.raises(ValidationError):
        settings()


def test_with_no_memory_of_the_evicted_a_record_is_still_taken() -> None:
    view = PipelineView(limits=ViewLimits(max_subscriptions=1, max_evicted_ids=0))
    for n in range(3):
        value = envelope("SubscriptionPurchased", f"s{n}").to_bytes()
        view.add(TopicRecord(ORDERING_SUBSCRIPTIONS, 0, n, T0_MS, None, value, {}))
    assert view.sizes()["evictedIds"] == 0 and view.window()["evictedIdsForgotten"] == 2
    assert view.was_evicted("s0") is None
