"""The funnel from events alone: how far each subscription got, and which sit too long."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.dashboard.builders import T0, T0_MS, Topics, envelope

MINUTE_MS = 60_000


def counts(snapshot: dict) -> dict[str, tuple[int, int]]:
    return {s["key"]: (s["reached"], s["inStage"]) for s in snapshot["stages"]}


def test_each_stage_counts_every_subscription_that_reached_it_or_a_later_one() -> None:
    topics = Topics()
    topics.flow("s-purchased", 1)
    topics.flow("s-linked", 2)
    topics.flow("s-licensed", 3)
    topics.flow("s-activated", 4)
    topics.flow("s-charged", 5)
    topics.flow("s-charged-too", 5)

    funnel = topics.view.funnel.snapshot(T0_MS + MINUTE_MS, stuck_after_s=3600)

    assert counts(funnel) == {
        "purchased": (6, 1),
        "linkIssued": (5, 1),
        "licensed": (4, 1),
        "activated": (3, 1),
        "charged": (2, 2),
    }
    assert funnel["stuckCount"] == 0 and funnel["stuck"] == []


def test_a_stage_is_marked_by_its_event_types() -> None:
    funnel = Topics().view.funnel.snapshot(T0_MS, stuck_after_s=60)
    assert {s["key"]: s["eventTypes"] for s in funnel["stages"]} == {
        "purchased": ["SubscriptionPurchased"],
        "linkIssued": ["ActivationLinkIssued"],
        "licensed": ["LicensesAssigned"],
        "activated": ["ActivationCompleted"],
        "charged": ["ChargePosted"],
    }


def test_a_later_stage_read_before_an_earlier_one_still_counts_the_earlier() -> None:
    """Topics are read side by side: billing's record may come before ordering's."""
    topics = Topics()
    topics.publish(envelope("ActivationCompleted", "s1", at=T0 + timedelta(seconds=3)))
    snapshot = topics.view.funnel.snapshot(T0_MS + MINUTE_MS, stuck_after_s=3600)
    assert counts(snapshot)["purchased"] == (1, 0)
    assert counts(snapshot)["activated"] == (1, 1)

    topics.publish(envelope("SubscriptionPurchased", "s1", at=T0))  # read late
    assert counts(topics.view.funnel.snapshot(T0_MS + MINUTE_MS, 3600))["activated"] == (1, 1)


def test_stuck_are_those_longer_than_the_threshold_in_their_stage_oldest_first() -> None:
    topics = Topics()
    # s-old sits in "link issued" since T0+1s; s-young since T0+4min+1s; s-done was charged.
    topics.flow("s-old", 2)
    topics.flow("s-young", 2, start=T0 + timedelta(minutes=4))
    topics.flow("s-done", 5)
    topics.flow("s-older", 1, start=T0 - timedelta(minutes=1))
    now = T0_MS + 5 * MINUTE_MS

    funnel = topics.view.funnel.snapshot(now, stuck_after_s=120)

    assert funnel["stuckCount"] == 2
    assert [(s["subscriptionId"], s["stage"], s["ageSeconds"]) for s in funnel["stuck"]] == [
        ("s-older", "purchased", 360.0),
        ("s-old", "linkIssued", 299.0),
    ]
    assert funnel["stuck"][1]["since"] == (T0 + timedelta(seconds=1)).isoformat()
    assert funnel["stuck"][0]["correlationId"] == "corr-1"
    # a longer threshold: nobody
    assert topics.view.funnel.snapshot(now, stuck_after_s=400)["stuckCount"] == 0


def test_the_age_runs_from_when_the_record_reached_the_topic() -> None:
    """Broker time, not the event's business time (a test clock may have moved that)."""
    topics = Topics()
    topics.publish(envelope("SubscriptionPurchased", "s1", at=T0 + timedelta(days=30)), at_ms=T0_MS)
    stuck = topics.view.funnel.snapshot(T0_MS + 10 * MINUTE_MS, stuck_after_s=60)["stuck"]
    assert [(s["subscriptionId"], s["ageSeconds"]) for s in stuck] == [("s1", 600.0)]


def test_cancelled_or_expired_subscriptions_are_never_stuck_and_are_counted_as_ended() -> None:
    topics = Topics()
    topics.flow("s-cancelled", 2)
    topics.publish(envelope("SubscriptionCancelled", "s-cancelled", at=T0 + timedelta(seconds=5)))
    topics.flow("s-expired", 4)
    topics.publish(envelope("SubscriptionExpired", "s-expired", at=T0 + timedelta(seconds=9)))
    topics.flow("s-waiting", 2)

    funnel = topics.view.funnel.snapshot(T0_MS + 60 * MINUTE_MS, stuck_after_s=60)

    assert funnel["ended"] == 2
    assert [s["subscriptionId"] for s in funnel["stuck"]] == ["s-waiting"]
    assert counts(funnel)["linkIssued"] == (3, 1)  # reached by all three, only one is there


def test_events_outside_the_funnel_change_nothing() -> None:
    topics = Topics()
    topics.flow("s1", 5)
    before = topics.view.funnel.snapshot(T0_MS, 60)
    topics.publish(envelope("InvoiceIssued", "s1", at=T0 + timedelta(minutes=1)))
    topics.publish(envelope("QuantityChangeRequested", "s1", at=T0 + timedelta(minutes=2)))
    assert topics.view.funnel.snapshot(T0_MS, 60) == before
