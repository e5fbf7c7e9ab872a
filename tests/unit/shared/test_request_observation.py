"""Each request's log lines carry its correlation id (the caller's, if valid, else a new
one, answered in `x-correlation-id`), unbound once it is served; `/metrics` shows its
latency by route template and status in the Prometheus text format."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs
from structlog.typing import EventDict

from services.provisioning.entrypoints.headers import install_tracking_headers
from shared.clock import FixedClock
from shared.http.app import create_service_app
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore
from tests.support.kernel import NOW

log = structlog.get_logger("route")


def build(service: str) -> FastAPI:
    router = APIRouter()

    @router.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        log.info("thing_read", thing_id=thing_id)
        return {"id": thing_id}

    @router.get("/api/thing")
    async def api_thing() -> dict[str, str]:
        log.info("api_thing_read")
        return {}

    @router.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    runtime = ServiceRuntime(
        name=service,
        store=MemoryStore(),
        broker=make_broker("127.0.0.1:9", client_id=service),  # never connected here
        clock=FixedClock(NOW),
    )
    return create_service_app(runtime=runtime, title=service, routers=[router])


@pytest.fixture
def service() -> str:
    return f"svc{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(service: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        yield http


def captured() -> AbstractContextManager[list[EventDict]]:
    return capture_logs(processors=[structlog.contextvars.merge_contextvars])


async def test_a_callers_correlation_id_is_on_every_log_line_of_the_request_and_answered(
    client: httpx.AsyncClient,
) -> None:
    with captured() as lines:
        answer = await client.get("/v1/things/t-1", headers={"X-Correlation-Id": "order-42"})
        log.info("between_requests")

    assert answer.headers["x-correlation-id"] == "order-42"
    by_event = {line["event"]: line for line in lines}
    assert by_event["thing_read"]["correlation_id"] == "order-42"
    assert by_event["http_request"]["correlation_id"] == "order-42"
    assert by_event["http_request"]["status"] == 200
    assert by_event["thing_read"]["request_id"] == by_event["http_request"]["request_id"]
    assert "correlation_id" not in by_event["between_requests"]  # unbound after
    assert "request_id" not in by_event["between_requests"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Correlation-Id": "bad id with spaces"}, {"X-Correlation-Id": "x" * 65}],
)
async def test_without_a_valid_one_the_request_makes_its_own(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    with captured() as lines:
        answer = await client.get("/v1/things/t-1", headers=headers)

    made = answer.headers["x-correlation-id"]
    assert uuid.UUID(made)
    assert {line["correlation_id"] for line in lines} == {made}


async def test_an_x_ms_correlationid_guid_is_taken_as_the_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    sent = str(uuid.uuid4())
    with captured() as lines:
        answer = await client.get("/v1/things/t-1", headers={"x-ms-correlationid": sent})

    assert answer.headers["x-correlation-id"] == sent
    assert {line["correlation_id"] for line in lines} == {sent}


async def test_provisioning_answers_the_same_correlation_id_it_logs(service: str) -> None:
    app = build(service)
    install_tracking_headers(app)  # provisioning's x-ms-* echo, outside the shared one
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        with captured() as lines:
            answer = await http.get("/api/thing")

    made = answer.headers["x-ms-correlationid"]
    assert answer.headers["x-correlation-id"] == made
    assert {line["correlation_id"] for line in lines} == {made}


async def test_an_unhandled_error_is_logged_with_the_requests_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    with captured() as lines:
        answer = await client.get("/v1/broken", headers={"X-Correlation-Id": "order-9"})

    assert answer.status_code == 500
    [error] = [line for line in lines if line["event"] == "unhandled_error"]
    assert error["correlation_id"] == "order-9"
    [request] = [line for line in lines if line["event"] == "http_request"]
    assert (request["status"], request["correlation_id"]) == (500, "order-9")


def http_counts(body: str, service: str) -> dict[tuple[str, str, str], float]:
    """(method, route, status) -> requests, from the text format."""
    counts: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(body):
        if family.name != "csp_http_request_seconds":
            continue
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_count") and labels["service"] == service:
                counts[(labels["method"], labels["route"], labels["status"])] = sample.value
    return counts


async def test_metrics_time_each_request_by_route_template_and_status(
    client: httpx.AsyncClient, service: str
) -> None:
    with captured():  # not rendered: a console traceback takes seconds
        for path in ("/v1/things/a", "/v1/things/b", "/v1/things/c", "/no/such", "/v1/broken"):
            await client.get(path)
        await client.post("/v1/things/a")

    answer = await client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert http_counts(answer.text, service) == {
        ("GET", "/v1/things/{thing_id}", "200"): 3,
        ("POST", "/v1/things/{thing_id}", "405"): 1,
        ("GET", "unmatched", "404"): 1,
        ("GET", "/v1/broken", "500"): 1,
    }
    families = {f.name for f in text_string_to_metric_families(answer.text)}
    assert {"csp_outbox_unsent_rows", "csp_events_consumed", "process_cpu_seconds"} <= families


async def test_metrics_and_health_stay_out_of_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/metrics" not in paths and "/healthz" not in paths
