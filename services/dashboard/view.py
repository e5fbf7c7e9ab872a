"""What the dashboard knows: everything read from the topics, kept in memory.

Fed one record at a time (by the Kafka reader, or by tests), it keeps each
subscription's events in the order they happened, the funnel, the rates per topic and
the dead letters. Nothing here is business state: a restart reads the topics again
from their beginning and gets the same view.

Records of the state topic are not facts: the view keeps the last value per key
(subscription and part), as a reader of a compacted topic must where the broker does not
compact (the embedded one never does).

A record is taken once per position: the reader may be handed a partition again from
its beginning (aiokafka reassigns every partition when a new topic appears) and those
records are skipped. An event published twice (an outbox retry, a replay) is kept once
per topic, by event id, and counted as a duplicate.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from services.dashboard.funnel import Funnel
from services.dashboard.rates import TopicRates
from services.dashboard.records import SeenEvent, TopicRecord, decode_event
from services.dashboard.topics import STATE_TOPICS, WATCHED_TOPICS
from shared.events.topics import is_dead_letter_topic
from shared.messaging.dead_letters import DeadLetterRecord

PAYLOAD_TEXT_CHARS = 16_384  # of a dead letter that is not JSON: enough to see what it is


def _order(event: SeenEvent) -> tuple[Any, ...]:
    return event.order


class PipelineView:
    def __init__(self, topics: Iterable[str] = WATCHED_TOPICS) -> None:
        self.rates = TopicRates(topics)
        self.funnel = Funnel()
        self._seen: set[tuple[str, str]] = set()  # (topic, event id)
        self._by_subject: dict[str, list[SeenEvent]] = defaultdict(list)
        self._by_correlation: dict[str, list[SeenEvent]] = defaultdict(list)
        self._dead_letters: list[DeadLetterRecord] = []
        self._state: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._next: dict[tuple[str, int], int] = {}
        self.version = 0  # moves with every record taken: the live stream's change signal
        self.duplicates = 0

    # -- feeding -------------------------------------------------------------------------

    def add(self, record: TopicRecord) -> bool:
        """Take one record; False when its position was taken already."""
        position = (record.topic, record.partition)
        if record.offset < self._next.get(position, 0):
            return False
        self._next[position] = record.offset + 1
        self.version += 1
        if is_dead_letter_topic(record.topic):
            self.rates.count(record.topic, record.timestamp_ms)
            self._dead_letters.append(_dead_letter(record))
            return True
        event = decode_event(record)
        self.rates.count(record.topic, record.timestamp_ms, decodable=event is not None)
        if event is None:
            return True
        if record.topic in STATE_TOPICS:
            self._keep_state(event)
            return True
        if (event.topic, event.event_id) in self._seen:
            self.duplicates += 1
            return True
        self._seen.add((event.topic, event.event_id))
        bisect.insort(self._by_subject[event.subject], event, key=_order)
        bisect.insort(self._by_correlation[event.correlation_id], event, key=_order)
        self.funnel.see(event)
        return True

    def _keep_state(self, event: SeenEvent) -> None:
        data = event.payload if isinstance(event.payload, dict) else {}
        part, state = data.get("part"), data.get("state")
        if not isinstance(part, str) or not isinstance(state, dict):
            return  # not a state this reader understands: counted on the topic only
        self._state[event.subject][part] = {
            "state": state,
            "eventId": event.event_id,
            "occurredAt": event.occurred_at.isoformat(),
            "offset": event.offset,
        }

    def next_offset(self, topic: str, partition: int) -> int:
        return self._next.get((topic, partition), 0)

    def partition_restarted(self, topic: str, partition: int) -> None:
        """The broker lost the partition (the embedded one restarted empty): its offsets
        start again at 0 and name new records. Events already seen stay (kept by id)."""
        self._next.pop((topic, partition), None)

    # -- reading -------------------------------------------------------------------------

    def timeline(self, subscription_id: str) -> list[SeenEvent]:
        return list(self._by_subject.get(subscription_id, ()))

    def correlation_timeline(self, correlation_id: str) -> list[SeenEvent]:
        return list(self._by_correlation.get(correlation_id, ()))

    def knows_subscription(self, subscription_id: str) -> bool:
        return subscription_id in self._by_subject

    def latest_state(self, subscription_id: str) -> dict[str, dict[str, Any]]:
        """Part ("partner", "publisher") -> its latest state; {} when none was read."""
        return dict(self._state.get(subscription_id, {}))

    def dead_letters(
        self, *, topic: str | None = None, subject: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """Newest first; `totalCount` counts every match, `items` the first `limit`."""
        found = [
            d
            for d in reversed(self._dead_letters)
            if (topic is None or d.topic == topic) and (subject is None or d.subject == subject)
        ]
        return {"totalCount": len(found), "items": [_dead_letter_wire(d) for d in found[:limit]]}

    def dead_letter_count(self) -> int:
        return len(self._dead_letters)

    def subscription_count(self) -> int:
        return len(self._by_subject)


def _dead_letter(record: TopicRecord) -> DeadLetterRecord:
    return DeadLetterRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp_ms,
        key=record.key,
        payload=record.value,
        headers=record.headers,
    )


def _dead_letter_wire(record: DeadLetterRecord) -> dict[str, Any]:
    try:
        payload: Any = json.loads(record.payload)
    except ValueError:  # not JSON (that may be why it is here): as text
        payload = record.payload[:PAYLOAD_TEXT_CHARS].decode(errors="replace")
    return {**record.summary(), "payload": payload}
