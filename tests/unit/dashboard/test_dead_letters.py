"""Dead letters as the page lists them: newest first, with payload and error."""

from __future__ import annotations

import json

from shared.events.topics import BILLING_LEDGER, PROVISIONING_SUBSCRIPTIONS
from tests.unit.dashboard.builders import T0_MS, Topics, envelope


def test_dead_letters_come_newest_first_with_their_payload_error_and_origin() -> None:
    topics = Topics()
    event = envelope("ActivationCompleted", "s1")
    topics.dead_letter(
        PROVISIONING_SUBSCRIPTIONS,
        event.to_bytes(),
        ValueError("price 1.234 has too many digits for USD"),
        consumer="billing.activations",
    )
    topics.dead_letter(
        BILLING_LEDGER, b"\xff not json", ValueError("not JSON"), consumer="x.y", at_ms=T0_MS + 1
    )

    listed = topics.view.dead_letters()

    assert listed["totalCount"] == 2
    newest, oldest = listed["items"]
    assert (newest["topic"], newest["payload"], newest["type"]) == (
        "billing.ledger.dlq",
        "\ufffd not json",
        "ChargePosted",  # from the ce-type header: the body says nothing
    )
    assert oldest["payload"] == json.loads(event.to_bytes())
    assert oldest["error"] == "ValueError: price 1.234 has too many digits for USD"
    assert (oldest["consumer"], oldest["originalTopic"], oldest["subject"]) == (
        "billing.activations",
        PROVISIONING_SUBSCRIPTIONS,
        "s1",
    )
    assert oldest["eventId"] == str(event.id)


def test_dead_letters_filter_by_topic_and_subscription_and_count_them_all() -> None:
    topics = Topics()
    for n in range(3):
        topics.dead_letter(
            PROVISIONING_SUBSCRIPTIONS,
            envelope("ActivationCompleted", f"s{n}").to_bytes(),
            ValueError("bad"),
            consumer="billing.activations",
        )
    assert topics.view.dead_letters(subject="s1")["totalCount"] == 1
    assert topics.view.dead_letters(topic="billing.ledger.dlq")["totalCount"] == 0
    limited = topics.view.dead_letters(limit=2)
    assert (limited["totalCount"], len(limited["items"])) == (3, 2)
    # a dead letter is on the rate of its .dlq topic, not in any timeline
    rates = {t["topic"]: t["total"] for t in topics.view.rates.snapshot(T0_MS)}
    assert rates["provisioning.subscriptions.dlq"] == 3
    assert topics.view.timeline("s1") == []
