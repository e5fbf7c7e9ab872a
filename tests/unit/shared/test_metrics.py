"""The metrics module: each call moves its series, labelled by service, with bounded
label values, and the registry reads back in the Prometheus text format."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.events import ActivationCompleted
from shared.observability import metrics
from shared.observability.metrics import REGISTRY


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def a_service() -> str:
    """A service name of this test only: the registry is the process's."""
    return f"svc-{uuid.uuid4().hex[:8]}"


def test_an_event_type_defined_in_code_is_its_own_label_and_anything_else_is_other() -> None:
    assert metrics.type_label("ActivationCompleted") == "ActivationCompleted"
    assert metrics.type_label(ActivationCompleted.model_fields["type"].default) == (
        "ActivationCompleted"
    )
    assert metrics.type_label("NoSuchEvent") == metrics.OTHER
    assert metrics.type_label(None) == metrics.OTHER
    assert metrics.type_label({"type": "junk"}) == metrics.OTHER


def test_a_handled_event_counts_and_times_under_its_service_consumer_and_type() -> None:
    service = a_service()
    labels = {"service": service, "consumer": f"{service}.c", "type": "ActivationCompleted"}

    metrics.event_consumed(service, f"{service}.c", "ActivationCompleted", 0.003)
    metrics.event_consumed(service, f"{service}.c", "ActivationCompleted", 0.2)

    assert value("csp_events_consumed_total", **labels) == 2
    assert value("csp_event_handler_seconds_count", **labels) == 2
    assert value("csp_event_handler_seconds_sum", **labels) == pytest.approx(0.203)
    assert value("csp_event_handler_seconds_bucket", **labels, le="0.005") == 1
    assert value("csp_event_handler_seconds_bucket", **labels, le="0.25") == 2


def test_duplicates_skips_dead_letters_stalls_and_productions_each_have_their_counter() -> None:
    service = a_service()
    consumer = f"{service}.c"

    metrics.event_duplicate(service, consumer, "ChargePosted")
    metrics.event_skipped(service, consumer, "InvoiceIssued")
    metrics.event_skipped(service, consumer, "SomethingNew")
    metrics.event_dead_lettered(service, consumer, None)
    metrics.event_stalled(service, consumer, "ChargePosted", "handler")
    metrics.event_produced(service, "billing.ledger", "ChargePosted")

    at = {"service": service, "consumer": consumer}
    assert value("csp_events_duplicate_total", **at, type="ChargePosted") == 1
    assert value("csp_events_skipped_total", **at, type="InvoiceIssued") == 1
    assert value("csp_events_skipped_total", **at, type="other") == 1
    assert value("csp_events_dead_lettered_total", **at, type="other") == 1
    assert value("csp_event_handler_stalls_total", **at, type="ChargePosted", cause="handler") == 1
    assert (
        value(
            "csp_events_produced_total",
            service=service,
            topic="billing.ledger",
            type="ChargePosted",
        )
        == 1
    )


def test_an_http_request_is_timed_by_method_route_template_and_status() -> None:
    service = a_service()

    metrics.http_request(service, "GET", "/v1/customers/{cid}", 404, 0.01)

    assert (
        value(
            "csp_http_request_seconds_count",
            service=service,
            method="GET",
            route="/v1/customers/{cid}",
            status="404",
        )
        == 1
    )


def test_the_exposition_is_the_prometheus_text_format_with_no_created_twins() -> None:
    service = a_service()
    metrics.event_produced(service, "ordering.subscriptions", "SubscriptionPurchased")

    body, content_type = metrics.exposition()

    assert content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    produced = families["csp_events_produced"]
    assert produced.type == "counter"
    assert any(s.labels.get("service") == service for s in produced.samples)
    assert not any(name.endswith("_created") for name in families)
    for name in ("csp_event_handler_seconds", "csp_http_request_seconds"):
        assert families[name].type == "histogram"
