"""Dead-letter records: the headers a consumer writes, what the command shows of a record,
which ones a selector chooses, and what a replay publishes (the broker side is in
tests/integration/shared/test_dead_letters.py)."""

from __future__ import annotations

import json

import pytest

from shared.events.topics import dead_letter_topic, is_dead_letter_topic, original_topic
from shared.messaging.dead_letters import (
    DeadLetterRecord,
    NotSelected,
    dead_letter_headers,
    once_each,
    select,
)
from tests.support.kernel import licenses_assigned

EVENT = licenses_assigned("sub-5", 2)


def record(
    offset: int,
    payload: bytes = EVENT.to_bytes(),
    *,
    partition: int = 0,
    topic: str = "provisioning.subscriptions.dlq",
    consumer: str = "billing.activations",
    **headers: str,
) -> DeadLetterRecord:
    return DeadLetterRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp_ms=1_795_000_000_000,
        key=None,
        payload=payload,
        headers={
            "traceparent": "t-1",
            "x-dlq-error": "ValidationError: 1 validation error",
            "x-dlq-consumer": consumer,
            "x-dlq-original-topic": "provisioning.subscriptions",
            **headers,
        },
    )


def test_the_topics_of_dead_letters() -> None:
    assert dead_letter_topic("billing.ledger") == "billing.ledger.dlq"
    assert is_dead_letter_topic("billing.ledger.dlq")
    assert not is_dead_letter_topic("billing.ledger")
    assert original_topic("billing.ledger.dlq") == "billing.ledger"
    with pytest.raises(ValueError):
        original_topic("billing.ledger")


def test_dead_letter_headers_keep_the_original_ones_and_say_what_and_where() -> None:
    headers = dead_letter_headers(
        {"ce-id": "e-1"},
        ValueError("x" * 5000),
        topic="t",
        consumer="svc.group",
        partition=2,
        offset=17,
        key="sub-1",
    )
    assert headers["ce-id"] == "e-1"
    assert headers["x-dlq-error"].startswith("ValueError: xxx")
    assert len(headers["x-dlq-error"]) == 2000
    assert headers["x-dlq-original-topic"] == "t"
    assert headers["x-dlq-consumer"] == "svc.group"
    assert (headers["x-dlq-original-partition"], headers["x-dlq-original-offset"]) == ("2", "17")
    assert headers["x-dlq-original-key"] == "sub-1"

    unplaced = dead_letter_headers({}, ValueError("bad"), topic="t", consumer="c")
    assert "x-dlq-original-offset" not in unplaced
    assert "x-dlq-original-key" not in unplaced


def test_a_record_shows_its_event_and_replays_with_the_original_key_and_headers() -> None:
    letter = record(3, **{"x-dlq-original-key": "sub-5"})

    assert letter.summary() == {
        "topic": "provisioning.subscriptions.dlq",
        "partition": 0,
        "offset": 3,
        "time": "2026-11-18T11:06:40+00:00",
        "eventId": str(EVENT.id),
        "type": "LicensesAssigned",
        "subject": "sub-5",
        "consumer": "billing.activations",
        "originalTopic": "provisioning.subscriptions",
        "originalPartition": None,
        "originalOffset": None,
        "error": "ValidationError: 1 validation error",
    }
    assert letter.service == "billing"
    assert letter.replay_key == "sub-5"
    assert letter.replay_headers == {"traceparent": "t-1"}
    json.dumps(letter.summary())


def test_a_record_that_is_not_json_is_shown_from_its_headers() -> None:
    junk = record(4, b"{not json", **{"ce-id": "e-9", "ce-type": "Odd"})
    assert (junk.event_id, junk.event_type, junk.subject) == ("e-9", "Odd", "")
    assert junk.replay_key is None
    # no key header: the subject of a readable payload is its key
    assert record(5).replay_key == "sub-5"


def test_select_by_offset_event_id_or_all() -> None:
    letters = [
        record(0, b"a"),
        record(1, b"b"),
        record(1, b"c", partition=1),
        record(2),
        record(0, topic="billing.ledger.dlq", consumer="ordering.view"),
    ]
    assert select(letters, everything=True) == letters
    assert select(letters, offsets=["1:1"]) == [letters[2]]
    assert select(letters, offsets=["2", "0:1"]) == [letters[1], letters[3]]
    # the same event in two dead-letter topics: both chosen by its id
    assert select(letters, event_ids=[str(EVENT.id)]) == [letters[3], letters[4]]
    with pytest.raises(NotSelected, match="ambiguous"):
        select(letters, offsets=["1"])
    with pytest.raises(NotSelected, match="no dead letter at offset 9"):
        select(letters, offsets=["9"])
    with pytest.raises(NotSelected, match="no dead letter of event nope"):
        select(letters, event_ids=["nope"])
    with pytest.raises(NotSelected, match="PARTITION:N"):
        select(letters, offsets=["x"])


def test_an_event_dead_lettered_by_several_groups_of_a_topic_is_replayed_once() -> None:
    by_billing = record(0)
    by_ordering = record(1, consumer="ordering.subscription-view")
    other = record(2, b"{other")
    assert once_each([by_billing, by_ordering, other]) == [by_billing, other]
