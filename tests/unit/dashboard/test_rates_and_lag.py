"""Event rate per topic, and consumer lag from high watermarks and committed offsets."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.dashboard.lag import consumer_lag
from services.dashboard.rates import TopicRates
from services.dashboard.topics import WATCHED_PATTERN, WATCHED_TOPICS

NOW_MS = 1_900_000_000_000  # a whole ten seconds


def test_the_rate_is_the_last_minutes_count_and_the_series_ten_second_buckets() -> None:
    rates = TopicRates(["a", "b"])
    for seconds_ago in (0, 1, 5, 59):
        rates.count("a", NOW_MS - seconds_ago * 1000)
    rates.count("a", NOW_MS - 61_000)  # outside the minute, inside the chart
    rates.count("a", NOW_MS - 3_600_000)  # an hour ago: only in the total

    [a, b] = rates.snapshot(NOW_MS)

    assert (a["topic"], a["total"], a["lastMinute"], a["perSecond"]) == ("a", 6, 4, 0.067)
    assert len(a["series"]) == 30 and sum(a["series"]) == 5
    assert a["series"][-1] == 1  # the current ten seconds: now
    assert a["series"][-2] == 2  # 1 and 5 s ago
    assert (b["total"], b["lastMinute"], sum(b["series"])) == (0, 0, 0)
    assert b["lastRecordAt"] is None


def test_a_topic_not_announced_is_added_when_seen() -> None:
    rates = TopicRates(["a"])
    rates.count("new", NOW_MS, decodable=False)
    assert [(t["topic"], t["undecodable"]) for t in rates.snapshot(NOW_MS)] == [
        ("a", 0),
        ("new", 1),
    ]


def test_the_reader_watches_each_event_topic_and_its_dead_letters_only() -> None:
    import re

    pattern = re.compile(WATCHED_PATTERN)
    assert all(pattern.match(t) for t in WATCHED_TOPICS)
    assert "billing.ledger.dlq" in WATCHED_TOPICS
    for other in ("ordering.test-clock", "billing.ledger.dlq.x", "xordering.subscriptions"):
        assert not pattern.match(other)


def tp(topic: str, partition: int) -> TopicPartition:
    return TopicPartition(topic, partition)


def test_lag_is_high_watermark_minus_committed_per_partition_summed_per_group() -> None:
    high = {tp("t", 0): 10, tp("t", 1): 4, tp("u", 0): 7}
    committed = {"g1": {tp("t", 0): 8, tp("t", 1): 4}, "g2": {tp("u", 0): None}}

    [g1, g2, g3] = consumer_lag({"g1": "t", "g2": "u", "g3": "t"}, high, committed)

    assert (g1["group"], g1["lag"], g1["known"]) == ("g1", 2, True)
    assert g1["partitions"] == [
        {"partition": 0, "highWatermark": 10, "committed": 8, "lag": 2},
        {"partition": 1, "highWatermark": 4, "committed": 4, "lag": 0},
    ]
    assert (g2["lag"], g2["partitions"][0]["committed"]) == (7, None)  # nothing committed yet
    assert (g3["lag"], g3["known"]) == (14, False)  # offsets not read yet: all behind


def test_lag_is_never_negative_and_unknown_partitions_are_left_out() -> None:
    """A commit ahead of a high watermark just fetched (a newer fetch will catch up)."""
    [group] = consumer_lag({"g": "t"}, {tp("t", 0): 3}, {"g": {tp("t", 0): 5}})
    assert group["lag"] == 0
    [empty] = consumer_lag({"g": "t"}, {}, {})
    assert (empty["lag"], empty["partitions"]) == (0, [])
