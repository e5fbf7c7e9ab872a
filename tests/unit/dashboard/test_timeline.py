"""One subscription's events across every topic, in the order they happened, from the
records however the topics were read."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from services.dashboard.records import TopicRecord
from shared.events.provisioning import LicensesAssigned, LicensesAssignedData
from shared.events.topics import BILLING_LEDGER, ORDERING_SUBSCRIPTIONS
from tests.unit.dashboard.builders import FLOW, T0, T0_MS, Topics, envelope
from tests.unit.provisioning.support import purchase


def test_the_timeline_is_in_occurrence_order_whatever_order_the_topics_were_read() -> None:
    topics = Topics()
    events = [envelope(kind, "s1", at=T0 + timedelta(seconds=i)) for i, kind in enumerate(FLOW)]
    for event in reversed(events):  # billing's topic read first, ordering's last
        topics.publish(event)
    topics.publish(envelope("SubscriptionPurchased", "other", at=T0))

    timeline = topics.view.timeline("s1")

    assert [e.type for e in timeline] == list(FLOW)
    assert [e.event_id for e in timeline] == [str(e.id) for e in events]
    assert topics.view.timeline("unknown") == []


def test_events_of_the_same_instant_go_by_topic_then_offset() -> None:
    topics = Topics()
    charge = topics.publish(envelope("ChargePosted", "s1"))
    invoice = topics.publish(envelope("InvoiceIssued", "s1"))
    purchased = topics.publish(envelope("SubscriptionPurchased", "s1"))
    assert [e.event_id for e in topics.view.timeline("s1")] == [
        str(charge.id),  # billing.ledger 0:0
        str(invoice.id),  # billing.ledger 0:1
        str(purchased.id),  # ordering.subscriptions
    ]


def test_an_item_carries_where_it_was_its_envelope_and_its_payload_as_sent() -> None:
    topics = Topics()
    cause = uuid.uuid4()
    event = topics.publish(
        envelope(
            "ChargePosted",
            "s1",
            correlation_id="corr-9",
            causation_id=str(cause),
            data={"amount": "50.00", "currency": "USD", "subscriptionId": "s1"},
        )
    )
    [item] = [e.to_wire() for e in topics.view.timeline("s1")]
    assert item == {
        "topic": BILLING_LEDGER,
        "partition": 0,
        "offset": 0,
        "type": "ChargePosted",
        "eventId": str(event.id),
        "occurredAt": T0.isoformat(),
        "correlationId": "corr-9",
        "causationId": str(cause),
        "payload": {"amount": "50.00", "currency": "USD", "subscriptionId": "s1"},
    }


def test_the_real_wire_events_decode_with_their_camel_case_payload() -> None:
    topics = Topics()
    bought = purchase(subscription_id="s-real", correlation_id="c-real")
    topics.publish(bought, topic=ORDERING_SUBSCRIPTIONS)
    topics.publish(
        LicensesAssigned(
            source="provisioning",
            time=bought.time + timedelta(minutes=1),
            subject="s-real",
            correlation_id="c-real",
            causation_id=str(bought.id),
            data=LicensesAssignedData(subscription_id="s-real", assigned_count=2, quantity=5),
        )
    )
    first, second = topics.view.timeline("s-real")
    assert first.payload["offerId"] == "contoso-crm"
    assert Decimal(first.payload["pricePerSeat"]) > 0
    assert (second.type, second.causation_id) == ("LicensesAssigned", str(bought.id))
    assert second.payload == {"subscriptionId": "s-real", "assignedCount": 2, "quantity": 5}


def test_a_republished_event_shows_once_and_counts_as_a_duplicate() -> None:
    topics = Topics()
    event = topics.publish(envelope("SubscriptionPurchased", "s1"))
    topics.publish(event)  # the outbox sent it twice: a second record, same event id

    assert len(topics.view.timeline("s1")) == 1
    assert topics.view.duplicates == 1
    assert topics.view.rates.snapshot(T0_MS)[0]["total"] == 2  # two records on the topic


def test_a_partition_handed_back_from_its_beginning_is_not_taken_twice() -> None:
    topics = Topics()
    topics.flow("s1", 3)
    version = topics.view.version
    for record in list(topics.records):  # aiokafka reassigned: the same positions again
        assert topics.view.add(record) is False
    assert topics.view.version == version
    assert topics.view.duplicates == 0
    assert sum(t["total"] for t in topics.view.rates.snapshot(T0_MS)) == 3


def test_after_the_broker_lost_a_partition_its_new_offsets_are_new_records() -> None:
    topics = Topics()
    topics.flow("s1", 1)
    topics.view.partition_restarted(ORDERING_SUBSCRIPTIONS, 0)
    newer = envelope("SubscriptionPurchased", "s2")
    taken = topics.view.add(
        TopicRecord(ORDERING_SUBSCRIPTIONS, 0, 0, T0_MS, b"s2", newer.to_bytes(), {})
    )
    assert taken and [e.subject for e in topics.view.timeline("s2")] == ["s2"]
    assert len(topics.view.timeline("s1")) == 1  # what was seen stays


def test_a_correlation_timeline_spans_the_subscriptions_of_one_purchase() -> None:
    topics = Topics()
    topics.publish(envelope("SubscriptionPurchased", "s1", correlation_id="order-1"))
    topics.publish(
        envelope("SubscriptionPurchased", "s2", correlation_id="order-1", at=T0 + timedelta(1))
    )
    topics.publish(envelope("SubscriptionPurchased", "s3", correlation_id="order-2"))
    assert [e.subject for e in topics.view.correlation_timeline("order-1")] == ["s1", "s2"]


def test_a_record_without_an_envelope_is_counted_as_undecodable_and_shown_nowhere() -> None:
    topics = Topics()
    topics.append(ORDERING_SUBSCRIPTIONS, b"not json")
    topics.append(ORDERING_SUBSCRIPTIONS, b'{"type": "SubscriptionPurchased"}')
    [ordering] = [
        t for t in topics.view.rates.snapshot(T0_MS) if t["topic"] == ORDERING_SUBSCRIPTIONS
    ]
    assert (ordering["total"], ordering["undecodable"]) == (2, 2)
    assert topics.view.subscription_count() == 0


def test_an_event_type_the_dashboard_never_heard_of_still_shows() -> None:
    topics = Topics()
    topics.publish(envelope("SeatsAudited", "s1"), topic=ORDERING_SUBSCRIPTIONS)
    assert [e.type for e in topics.view.timeline("s1")] == ["SeatsAudited"]
