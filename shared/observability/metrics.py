"""Every metric a service exposes on `/metrics`, defined once, in one registry.

One process runs one service, so prometheus-client's default registry is that process's
registry (it also carries the client's process and GC collectors). Each series is
labelled with the service's name, so tests that run several services in one process
still tell them apart. Call sites use the small functions below, one line each.

Label values stay bounded: an event type is a type defined in code or `other` (a junk
producer must not mint series without end); an HTTP route is the route's template
(`/v1/customers/{cid}`), never the raw path.
"""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.events.envelope import Event

# The `_created` twin of every counter only doubles the series: off for the process.
prometheus_client.disable_created_metrics()

REGISTRY: CollectorRegistry = prometheus_client.REGISTRY
OTHER = "other"  # a type no code in this process defines

# Seconds: an idle event hop or request takes milliseconds; a stalled store, seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_CONSUMER = ("service", "consumer", "type")

EVENTS_CONSUMED = Counter(
    "csp_events_consumed",
    "Events handled: the handler ran and its transaction (inbox, state, outbox) committed.",
    _CONSUMER,
    registry=REGISTRY,
)
EVENTS_DUPLICATE = Counter(
    "csp_events_duplicate",
    "Redeliveries absorbed by the inbox: the consumer had handled this event id already.",
    _CONSUMER,
    registry=REGISTRY,
)
EVENTS_SKIPPED = Counter(
    "csp_events_skipped",
    "Events of a type this consumer does not handle (another consumer's, or a newer one).",
    _CONSUMER,
    registry=REGISTRY,
)
EVENTS_DEAD_LETTERED = Counter(
    "csp_events_dead_lettered",
    "Undecodable events published to the topic's dead-letter topic.",
    _CONSUMER,
    registry=REGISTRY,
)
EVENT_HANDLER_STALLS = Counter(
    "csp_event_handler_stalls",
    "Rounds in which a failing event stopped its partition (retried after a pause).",
    (*_CONSUMER, "cause"),
    registry=REGISTRY,
)
EVENT_HANDLER_SECONDS = Histogram(
    "csp_event_handler_seconds",
    "Time to handle one event that was handled: the bus call, its retries included.",
    _CONSUMER,
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
EVENTS_PRODUCED = Counter(
    "csp_events_produced",
    "Events the outbox relay published and the broker acknowledged.",
    ("service", "topic", "type"),
    registry=REGISTRY,
)
OUTBOX_UNSENT = Gauge(
    "csp_outbox_unsent_rows",
    "Outbox rows not yet published (read from the store at scrape time).",
    ("service",),
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE = Gauge(
    "csp_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unsent outbox row (0 when none); see docs/observability.md.",
    ("service",),
    registry=REGISTRY,
)
HTTP_REQUEST_SECONDS = Histogram(
    "csp_http_request_seconds",
    "HTTP request latency by route template and status (the count: requests).",
    ("service", "method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

_known_types: set[str] = set()


def type_label(event_type: object) -> str:
    """`event_type` if some Event subclass in this process defines it, else `other`."""
    if isinstance(event_type, str) and event_type in _known_types:
        return event_type
    _known_types.update(_defined_types(Event))  # a type defined since the last look
    return event_type if isinstance(event_type, str) and event_type in _known_types else OTHER


def _defined_types(base: type[Event]) -> set[str]:
    found: set[str] = set()
    for sub in base.__subclasses__():
        field = sub.model_fields.get("type")
        if field is not None and isinstance(field.default, str):
            found.add(field.default)
        found |= _defined_types(sub)
    return found


# -- call sites: one line each -------------------------------------------------------


def event_consumed(service: str, consumer: str, event_type: str, seconds: float) -> None:
    labels = (service, consumer, type_label(event_type))
    EVENTS_CONSUMED.labels(*labels).inc()
    EVENT_HANDLER_SECONDS.labels(*labels).observe(seconds)


def event_duplicate(service: str, consumer: str, event_type: str) -> None:
    EVENTS_DUPLICATE.labels(service, consumer, type_label(event_type)).inc()


def event_skipped(service: str, consumer: str, event_type: object) -> None:
    EVENTS_SKIPPED.labels(service, consumer, type_label(event_type)).inc()


def event_dead_lettered(service: str, consumer: str, event_type: object) -> None:
    EVENTS_DEAD_LETTERED.labels(service, consumer, type_label(event_type)).inc()


def event_stalled(service: str, consumer: str, event_type: object, cause: str) -> None:
    EVENT_HANDLER_STALLS.labels(service, consumer, type_label(event_type), cause).inc()


def event_produced(service: str, topic: str, event_type: object) -> None:
    EVENTS_PRODUCED.labels(service, topic, type_label(event_type)).inc()


def http_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(service, method, route, str(status)).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The registry in the Prometheus text format: (body, content type)."""
    return prometheus_client.generate_latest(REGISTRY), prometheus_client.CONTENT_TYPE_LATEST
