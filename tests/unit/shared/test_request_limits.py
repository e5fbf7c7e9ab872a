"""Request limits (shared/http/limits.py): the body limit before any parsing, whether
the size is declared or not; path ids checked before a lookup; error answers that never
echo unbounded input (shared/http/errors.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import RuleBroken
from shared.http.errors import clip, field_path, install_error_handlers
from shared.http.limits import DEFAULT_MAX_BODY_BYTES, install_request_limits, path_id
from shared.settings import ServiceSettings

LIMIT = 16 * 1024
CustomerId = path_id("customer", "cid")


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    companyName: str = Field(max_length=256)  # noqa: N815 - the wire name


class Seen:
    """What reached the route: how many calls, and the bodies they parsed."""

    def __init__(self) -> None:
        self.bodies: list[Customer] = []
        self.raw: list[bytes] = []
        self.lookups: list[str] = []


def limited_app(seen: Seen, limit: int = LIMIT) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_request_limits(app, limit)

    @app.post("/customers")
    async def create(body: Customer) -> dict[str, int]:
        seen.bodies.append(body)
        return {"length": len(body.companyName)}

    @app.get("/customers/{cid}")
    async def read(cid: CustomerId) -> dict[str, str]:
        seen.lookups.append(cid)
        return {"id": cid}

    @app.get("/fails")
    async def fails() -> None:
        raise RuleBroken("x" * 5000, "y" * 5000)

    return app


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def api(seen: Seen) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=limited_app(seen), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def assert_too_large(answer: httpx.Response, limit: int = LIMIT) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.json() == {
        "error": {
            "code": "PayloadTooLarge",
            "message": f"the request body exceeds {limit} bytes",
            "target": "body",
        }
    }


def chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    """A JSON body of `total` bytes sent in pieces without a Content-Length (chunked)."""
    body = b'{"companyName": "' + b"x" * (total - 19) + b'"}'
    assert len(body) == total

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    return stream()


async def test_a_declared_body_over_the_limit_is_a_413_before_the_route(
    api: httpx.AsyncClient, seen: Seen
) -> None:
    answer = await api.post("/customers", json={"companyName": "x" * 2 * LIMIT})
    assert_too_large(answer)
    assert seen.bodies == []


async def test_a_chunked_body_over_the_limit_is_a_413_not_a_parse_error(
    api: httpx.AsyncClient, seen: Seen
) -> None:
    answer = await api.post(
        "/customers", content=chunks(LIMIT + 1), headers={"content-type": "application/json"}
    )
    assert "content-length" not in answer.request.headers
    assert_too_large(answer)
    assert seen.bodies == []


async def test_a_chunked_body_within_the_limit_reaches_the_route_whole(
    api: httpx.AsyncClient, seen: Seen
) -> None:
    answer = await api.post(
        "/customers", content=chunks(200, size=7), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"length": 181}
    assert seen.bodies == [Customer(companyName="x" * 181)]


async def test_a_body_of_exactly_the_limit_is_taken(api: httpx.AsyncClient, seen: Seen) -> None:
    body = b'{"companyName": "' + b"x" * 200 + b'"}'
    padded = body + b" " * (LIMIT - len(body))  # JSON allows trailing whitespace
    answer = await api.post(
        "/customers", content=padded, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text


async def test_the_refusal_reads_nothing_of_a_declared_body() -> None:
    """The app below the limit never runs, and not one body message is received."""
    received: list[str] = []
    app = limited_app(Seen())
    body = b"x" * (20 * 1024 * 1024)

    async def receive() -> dict[str, object]:
        received.append("body")
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/customers",
        "raw_path": b"/customers",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    started = time.perf_counter()
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 1.0
    assert received == []
    assert sent[0]["status"] == 413


async def test_an_overlong_path_id_is_a_404_naming_it_without_reaching_the_route(
    api: httpx.AsyncClient, seen: Seen
) -> None:
    for bad in ("x" * 5000, "not-a-guid", str(uuid.uuid4()) + "0"):
        answer = await api.get(f"/customers/{bad}")
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert (error["code"], error["target"]) == ("NotFound", "cid")
        assert len(error["message"]) < 100  # the id quoted by a short prefix at most
    assert seen.lookups == []


async def test_a_guid_path_id_reaches_the_route_in_lower_case(
    api: httpx.AsyncClient, seen: Seen
) -> None:
    guid = str(uuid.uuid4())
    answer = await api.get(f"/customers/{guid.upper()}")
    assert answer.json() == {"id": guid}


async def test_a_too_long_field_is_a_400_naming_it_without_echoing_it(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post("/customers", json={"companyName": "q" * 5000})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "BadRequest",
        "message": "companyName: must be at most 256 characters",
        "target": "companyName",
    }


async def test_an_unknown_field_with_a_huge_name_is_named_by_a_prefix(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post("/customers", json={"companyName": "A", "k" * 10_000: 1})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["target"] == "k" * 50 + "…"
    assert len(answer.content) < 400


async def test_a_problem_with_an_unbounded_message_is_cut(api: httpx.AsyncClient) -> None:
    answer = await api.get("/fails")
    error = answer.json()["error"]
    assert answer.status_code == 400
    assert error["message"] == "x" * 300 + "…"
    assert error["target"] == "y" * 100 + "…"


async def test_a_number_too_long_to_parse_is_a_400_naming_the_body(
    api: httpx.AsyncClient,
) -> None:
    content = b'{"companyName": ' + b"9" * 5000 + b"}"
    answer = await api.post(
        "/customers", content=content, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.json()["error"]["target"] == "body"


def test_clip_quotes_a_short_prefix() -> None:
    assert clip("short") == "short"
    assert clip("z" * 51) == "z" * 50 + "…"
    assert field_path(("body", "k" * 60, 0)) == "k" * 50 + "…[0]"


def test_the_limit_is_a_setting_of_one_mebibyte_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ServiceSettings().csp_max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    monkeypatch.setenv("CSP_MAX_BODY_BYTES", "4096")
    assert ServiceSettings().csp_max_body_bytes == 4096
