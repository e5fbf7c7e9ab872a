"""What the dashboard knows: what it read from the topics, kept in memory, bounded.

Fed one record at a time (by the Kafka reader, or by tests), it keeps each
subscription's events in the order they happened, the funnel, the rates per topic and
the dead letters. Nothing here is business state: a restart reads the topics again
from their beginning and gets the same view.

Every structure is bounded (ViewLimits, set by DashboardSettings), so a dashboard left
running for weeks stays flat in memory:

- The subscriptions held (timeline, latest state, funnel details) are at most
  `max_subscriptions`, and their events at most `max_events` in all and
  `max_events_per_subscription` each (past it, a timeline drops its earliest events).
  Past a bound, the least recently touched subscription goes first; those that may be
  stuck (in a stage before the last, not ended) go last, as long as they fill at most
  half the window (OPEN_SHARE); past that, the least recently touched of them go.
- An evicted subscription leaves its id and its funnel standing (one int) in a memory
  of the last `max_evicted_ids` evicted: the funnel's counters never lose it, a late
  event (a renewal's charge, a cancellation) moves it on without counting it twice, and
  its timeline is answered "evicted", not "unknown".
- Dead letters: the newest `max_dead_letters`; payloads (of events and dead letters)
  over `max_payload_bytes` are not kept.
- Rates: a sliding window of seconds per topic (rates.py).

Records of the state topic are not facts: the view keeps the last value per key
(subscription and part), as a reader of a compacted topic must where the broker does not
compact (the embedded one never does).

A record is taken once per position: the reader may be handed a partition again from
its beginning (aiokafka reassigns every partition when a new topic appears) and those
records are skipped. An event published twice (an outbox retry, a replay) is kept once
per topic, by event id, and counted as a duplicate, as long as its subscription's
events are held.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.dashboard.funnel import Funnel
from services.dashboard.rates import TopicRates
from services.dashboard.records import MAX_PAYLOAD_BYTES, SeenEvent, TopicRecord, decode_event
from services.dashboard.topics import STATE_TOPICS, WATCHED_TOPICS
from shared.events.topics import is_dead_letter_topic
from shared.messaging.dead_letters import DeadLetterRecord

PAYLOAD_TEXT_CHARS = 16_384  # of a dead letter that is not JSON: enough to see what it is
MAX_STATE_PARTS = 8  # parts of one subscription's state kept ("partner", "publisher")
# Of the window, the share kept for subscriptions that may be stuck, evicted last.
OPEN_SHARE = 0.5


@dataclass(frozen=True)
class ViewLimits:
    """The bounds of the view; DashboardSettings.limits() reads them from the environment
    (CSP_DASHBOARD_MAX_*). docs/dashboard.md gives what each costs."""

    max_subscriptions: int = 50_000
    max_events: int = 300_000
    max_events_per_subscription: int = 100
    max_evicted_ids: int = 250_000
    max_dead_letters: int = 1_000
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def __post_init__(self) -> None:
        if min(self.max_subscriptions, self.max_events_per_subscription) < 1:
            raise ValueError("max_subscriptions and max_events_per_subscription must be >= 1")
        if self.max_events < self.max_events_per_subscription:
            raise ValueError("max_events must be at least max_events_per_subscription")
        if self.max_evicted_ids < 0 or self.max_dead_letters < 1 or self.max_payload_bytes < 0:
            raise ValueError("max_evicted_ids >= 0, max_dead_letters >= 1, max_payload_bytes >= 0")


class _Held:
    """One subscription held: its events in order, its latest state per part."""

    __slots__ = ("dropped", "events", "returned", "state")

    def __init__(self) -> None:
        self.events: list[SeenEvent] = []
        self.state: dict[str, SeenEvent] = {}
        self.dropped = 0  # its earliest events dropped (max_events_per_subscription)
        self.returned = False  # evicted once and seen again: its earlier events are gone


class HeldDeadLetter:
    """A dead letter as kept: what the list shows, worked out once, the payload (up to
    the payload limit), and what a replay publishes beside it: the original topic, key
    and headers (without the `x-dlq-*` ones)."""

    __slots__ = ("headers", "key", "original_topic", "payload", "size", "summary")

    def __init__(self, record: DeadLetterRecord, max_payload_bytes: int) -> None:
        self.summary = {"id": dead_letter_id(record.topic, record.partition, record.offset)}
        self.summary |= record.summary()
        self.size = len(record.payload)
        self.payload = record.payload if self.size <= max_payload_bytes else b""
        self.original_topic = record.original_topic
        self.key = record.replay_key
        self.headers = record.replay_headers

    @property
    def id(self) -> str:
        return str(self.summary["id"])

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.summary["topic"], self.summary["partition"], self.summary["offset"])

    @property
    def payload_kept(self) -> bool:
        return bool(self.payload) or not self.size

    def wire(self) -> dict[str, Any]:
        if not self.payload_kept:
            payload: Any = f"(payload not kept: {self.size} bytes, over the dashboard's limit)"
        else:
            try:
                payload = json.loads(self.payload)
            except ValueError:  # not JSON (that may be why it is here): as text
                payload = self.payload[:PAYLOAD_TEXT_CHARS].decode(errors="replace")
        return {**self.summary, "payload": payload}


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    """How the list names a dead letter, and a replay chooses it: `TOPIC:PARTITION:OFFSET`
    (a topic name holds no colon)."""
    return f"{topic}:{partition}:{offset}"


def _order(event: SeenEvent) -> tuple[Any, ...]:
    return event.order


class PipelineView:
    def __init__(
        self, topics: Iterable[str] = WATCHED_TOPICS, *, limits: ViewLimits | None = None
    ) -> None:
        self.limits = limits if limits is not None else ViewLimits()
        self.rates = TopicRates(topics)
        self.funnel = Funnel()
        # Subscription -> what is held of it, least recently touched first: the ones that
        # may be stuck apart, evicted only when no other is left.
        self._settled: OrderedDict[str, _Held] = OrderedDict()
        self._open: OrderedDict[str, _Held] = OrderedDict()
        self._by_correlation: dict[str, dict[str, None]] = {}  # -> subscriptions held
        self._evicted: OrderedDict[str, int] = OrderedDict()  # id -> funnel standing
        self._dead_letters: deque[HeldDeadLetter] = deque(maxlen=self.limits.max_dead_letters)
        self._dead_letter_at: dict[tuple[str, int, int], HeldDeadLetter] = {}  # by position
        self._open_cap = int(self.limits.max_subscriptions * OPEN_SHARE)
        self._next: dict[tuple[str, int], int] = {}
        self._events_held = 0
        self.version = 0  # moves with every record taken: the live stream's change signal
        self.duplicates = 0
        self.evicted_subscriptions = 0  # subscriptions whose details were dropped, ever
        self.forgotten_ids = 0  # evicted ids dropped from the memory of evicted ones
        self.events_dropped = 0  # events no longer held (trimmed timelines, evictions)
        self.dead_letters_seen = 0

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
            self._keep_dead_letter(
                HeldDeadLetter(_dead_letter(record), self.limits.max_payload_bytes)
            )
            self.dead_letters_seen += 1
            return True
        event = decode_event(record, max_payload_bytes=self.limits.max_payload_bytes)
        self.rates.count(record.topic, record.timestamp_ms, decodable=event is not None)
        if event is None:
            return True
        if record.topic in STATE_TOPICS:
            self._keep_state(event)
            return True
        held = self._take(event.subject, event.correlation_id)
        try:
            if any(e.event_id == event.event_id and e.topic == event.topic for e in held.events):
                self.duplicates += 1
                return True
            bisect.insort(held.events, event, key=_order)
            self._events_held += 1
            self._by_correlation.setdefault(event.correlation_id, {})[event.subject] = None
            if len(held.events) > self.limits.max_events_per_subscription:
                self._drop_earliest(event.subject, held)
            self.funnel.see(event)
        finally:
            self._put(event.subject, held)
        return True

    def _keep_state(self, event: SeenEvent) -> None:
        data = event.payload
        data = data if isinstance(data, dict) else {}
        part, state = data.get("part"), data.get("state")
        if not isinstance(part, str) or not isinstance(state, dict):
            return  # not a state this reader understands: counted on the topic only
        held = self._take(event.subject, event.correlation_id)
        try:
            if part in held.state or len(held.state) < MAX_STATE_PARTS:
                held.state[part] = event
        finally:
            self._put(event.subject, held)

    def next_offset(self, topic: str, partition: int) -> int:
        return self._next.get((topic, partition), 0)

    def partition_restarted(self, topic: str, partition: int) -> None:
        """The broker lost the partition (the embedded one restarted empty): its offsets
        start again at 0 and name new records. Events already seen stay (kept by id)."""
        self._next.pop((topic, partition), None)

    # -- the window ----------------------------------------------------------------------

    def _take(self, subject: str, correlation_id: str) -> _Held:
        """The subscription out of the window, to be put back by `_put` (touched); a new
        one, or one evicted before (given back its funnel standing)."""
        held = self._open.pop(subject, None)
        if held is None:
            held = self._settled.pop(subject, None)
        if held is None:
            held = _Held()
            code = self._evicted.pop(subject, None)
            if code is not None:
                held.returned = True
                self.funnel.revive(subject, code, correlation_id)
        return held

    def _put(self, subject: str, held: _Held) -> None:
        (self._open if self.funnel.is_open(subject) else self._settled)[subject] = held
        limits = self.limits
        while (
            len(self._settled) + len(self._open) > limits.max_subscriptions
            or self._events_held > limits.max_events
        ):
            victim = self._victim(subject)
            if victim is None:
                break
            self._evict(*victim)

    def _victim(self, keep: str) -> tuple[str, _Held] | None:
        """The least recently touched, those that may be stuck last while they hold at
        most OPEN_SHARE of the window (abandoned purchases never finish: they must not
        crowd out everything else); never `keep` (just touched: last of its dict)."""
        protected = self._open if len(self._open) <= self._open_cap else self._settled
        others = self._settled if protected is self._open else self._open
        for held in (others, protected):
            if len(held) > 1 or (held and keep not in held):
                return held.popitem(last=False)
        return None

    def _evict(self, subject: str, held: _Held) -> None:
        for correlation_id in {e.correlation_id for e in held.events}:
            self._unlink(correlation_id, subject)
        self._events_held -= len(held.events)
        self.events_dropped += len(held.events)
        self._evicted[subject] = self.funnel.retire(subject)
        self.evicted_subscriptions += 1
        if len(self._evicted) > self.limits.max_evicted_ids:
            self._evicted.popitem(last=False)
            self.forgotten_ids += 1

    def _drop_earliest(self, subject: str, held: _Held) -> None:
        dropped = held.events.pop(0)
        held.dropped += 1
        self._events_held -= 1
        self.events_dropped += 1
        if all(e.correlation_id != dropped.correlation_id for e in held.events):
            self._unlink(dropped.correlation_id, subject)

    def _unlink(self, correlation_id: str, subject: str) -> None:
        subjects = self._by_correlation.get(correlation_id)
        if subjects is not None:
            subjects.pop(subject, None)
            if not subjects:
                del self._by_correlation[correlation_id]

    def _held(self, subscription_id: str) -> _Held | None:
        held = self._open.get(subscription_id)
        return held if held is not None else self._settled.get(subscription_id)

    # -- reading -------------------------------------------------------------------------

    def timeline(self, subscription_id: str) -> list[SeenEvent]:
        held = self._held(subscription_id)
        return list(held.events) if held is not None else []

    def timeline_gaps(self, subscription_id: str) -> dict[str, Any] | None:
        """Held, but not every event of it: how many were dropped and whether it was
        evicted before; None when its timeline is whole (or it is not held)."""
        held = self._held(subscription_id)
        if held is None or not (held.dropped or held.returned):
            return None
        return {"eventsDropped": held.dropped, "evictedBefore": held.returned}

    def correlation_timeline(self, correlation_id: str) -> list[SeenEvent]:
        found: list[SeenEvent] = []
        for subject in self._by_correlation.get(correlation_id, ()):
            held = self._held(subject)
            if held is not None:
                found.extend(e for e in held.events if e.correlation_id == correlation_id)
        return sorted(found, key=_order)

    def knows_subscription(self, subscription_id: str) -> bool:
        return self._held(subscription_id) is not None

    def was_evicted(self, subscription_id: str) -> bool | None:
        """Not held: True when it was evicted, False when never seen, None when it cannot
        be told (ids of the evicted were forgotten past max_evicted_ids)."""
        if subscription_id in self._evicted:
            return True
        return None if self.forgotten_ids else False

    def latest_state(self, subscription_id: str) -> dict[str, dict[str, Any]]:
        """Part ("partner", "publisher") -> its latest state; {} when none was read."""
        held = self._held(subscription_id)
        if held is None:
            return {}
        parts = {}
        for part, event in held.state.items():
            payload = event.payload
            parts[part] = {
                "state": payload.get("state") if isinstance(payload, dict) else payload,
                "eventId": event.event_id,
                "occurredAt": event.occurred_at.isoformat(),
                "offset": event.offset,
            }
        return parts

    def _keep_dead_letter(self, letter: HeldDeadLetter) -> None:
        if len(self._dead_letters) == self._dead_letters.maxlen:
            oldest = self._dead_letters[0]  # about to go: its position with it
            if self._dead_letter_at.get(oldest.position) is oldest:
                del self._dead_letter_at[oldest.position]
        self._dead_letters.append(letter)
        self._dead_letter_at[letter.position] = letter

    def dead_letter(self, topic: str, partition: int, offset: int) -> HeldDeadLetter | None:
        """The dead letter held at this position (what a replay publishes), or None."""
        return self._dead_letter_at.get((topic, partition, offset))

    def dead_letters(
        self,
        *,
        topic: str | None = None,
        subject: str | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """Newest first; `totalCount` counts every match held, `items` the first `limit`;
        `dropped` counts the older dead letters no longer held (max_dead_letters).
        `service` keeps what that service's consumers dead-lettered (`billing` for
        `billing.activations`)."""
        found = [
            d
            for d in reversed(self._dead_letters)
            if (topic is None or d.summary["topic"] == topic)
            and (subject is None or d.summary["subject"] == subject)
            and (service is None or d.summary["consumer"].split(".", 1)[0] == service)
        ]
        return {
            "totalCount": len(found),
            "dropped": self.dead_letters_seen - len(self._dead_letters),
            "items": [d.wire() for d in found[:limit]],
        }

    def dead_letter_count(self) -> int:
        return len(self._dead_letters)

    def subscription_count(self) -> int:
        return len(self._settled) + len(self._open)

    def window(self) -> dict[str, Any]:
        """The bounds and how full they are: the page and the 404s say what is not held."""
        limits = self.limits
        return {
            "maxSubscriptions": limits.max_subscriptions,
            "maxEvents": limits.max_events,
            "maxEventsPerSubscription": limits.max_events_per_subscription,
            "maxEvictedIds": limits.max_evicted_ids,
            "maxDeadLetters": limits.max_dead_letters,
            "subscriptionsHeld": self.subscription_count(),
            "eventsHeld": self._events_held,
            "subscriptionsEvicted": self.evicted_subscriptions,
            "evictedIdsHeld": len(self._evicted),
            "evictedIdsForgotten": self.forgotten_ids,
            "eventsDropped": self.events_dropped,
            "deadLettersDropped": self.dead_letters_seen - len(self._dead_letters),
        }

    def sizes(self) -> dict[str, int]:
        """The length of every structure held (what the bounds bound): for tests and
        the memory measurement."""
        return {
            "subscriptions": self.subscription_count(),
            "open": len(self._open),
            "events": self._events_held,
            "eventsCounted": sum(
                len(h.events) for h in (*self._open.values(), *self._settled.values())
            ),
            "correlations": len(self._by_correlation),
            "correlationLinks": sum(len(s) for s in self._by_correlation.values()),
            "funnelProgress": self.funnel.held(),
            "evictedIds": len(self._evicted),
            "deadLetters": len(self._dead_letters),
            "rateSeconds": self.rates.seconds_kept(),
            "statesHeld": sum(
                len(h.state) for h in (*self._open.values(), *self._settled.values())
            ),
        }


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
