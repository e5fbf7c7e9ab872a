"""Input limits of the partner API: the body limit, a maximum length on every string
of every request (a 400 naming the field, never quoting the value), and path ids
checked before any lookup (a 404: no such id can exist)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ordering.bootstrap import build_app
from shared.clock import FixedClock
from tests.support.counting_store import CountingStore
from tests.unit.ordering.helpers import SETTINGS, Purchase, auth, documents, line, new_customer

GUID = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"
LONG_ID = "7" * 5000


@pytest.fixture
def store(clock: FixedClock) -> CountingStore:  # replaces conftest's: counts lookups
    return CountingStore(clock=clock)


def assert_names(answer: httpx.Response, status: int, target: str, says: str = "") -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["target"] == target
    assert says in error["message"]
    assert len(error["message"]) < 150  # whatever was sent is not quoted back


# --- the body


async def test_a_20_mb_company_name_is_a_413_at_once_and_nothing_is_stored(
    client: httpx.AsyncClient, store: CountingStore
) -> None:
    started = time.perf_counter()
    answer = await client.post(
        "/v1/customers", json={"companyName": "A" * 20_000_000}, headers=auth()
    )
    assert time.perf_counter() - started < 3  # the user saw a 201 after 0.5 s
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PayloadTooLarge"
    assert store.opened == 0
    assert await documents(store, "customers") == []


async def test_a_chunked_body_over_the_limit_is_a_413_and_nothing_is_stored(
    client: httpx.AsyncClient, store: CountingStore
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"companyName": "'
        for _ in range(1100):
            yield b"A" * 1024
        yield b'"}'

    answer = await client.post(
        "/v1/customers",
        content=body(),
        headers={**auth(), "content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PayloadTooLarge"
    assert await documents(store, "customers") == []


async def test_the_body_limit_is_the_setting(store: CountingStore, clock: FixedClock) -> None:
    app = build_app(
        SETTINGS.model_copy(update={"csp_max_body_bytes": 2048}), store=store, clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        fits = await client.post("/v1/customers", json={"companyName": "A" * 200}, headers=auth())
        too_big = await client.post(
            "/v1/customers", json={"companyName": "A", "domain": "d" * 2100}, headers=auth()
        )
    assert (fits.status_code, too_big.status_code) == (201, 413)
    assert "2048 bytes" in too_big.json()["error"]["message"]


# --- strings


async def test_a_5000_character_company_name_is_a_400_naming_it(
    client: httpx.AsyncClient, store: CountingStore
) -> None:
    answer = await client.post("/v1/customers", json={"companyName": "A" * 5000}, headers=auth())
    assert_names(answer, 400, "companyName", "at most 256 characters")
    assert await documents(store, "customers") == []


@pytest.mark.parametrize(
    ("body", "target", "status"),
    [
        ({"companyName": "A" * 256}, "companyName", 201),
        ({"companyName": "A" * 257}, "companyName", 400),
        ({"companyName": "A", "domain": "d" * 253}, "domain", 201),
        ({"companyName": "A", "domain": "d" * 254}, "domain", 400),
    ],
)
async def test_customer_names_and_domains_have_a_maximum_length(
    client: httpx.AsyncClient, body: dict[str, Any], target: str, status: int
) -> None:
    answer = await client.post("/v1/customers", json=body, headers=auth())
    assert answer.status_code == status, answer.text
    if status == 400:
        assert_names(answer, 400, target, "at most")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("offerId", "o" * 65, "at most 64 characters"),
        ("planId", "p" * 65, "at most 64 characters"),
        ("termDuration", "P" * 33, "at most 32 characters"),
        ("billingCycle", "m" * 33, "at most 32 characters"),
        ("friendlyName", "n" * 129, "1 to 128 characters"),
        ("friendlyName", "n" * 5000, "1 to 128 characters"),
        ("partnerId", "1" * 33, "at most 32 characters"),
    ],
)
async def test_every_string_of_a_cart_line_has_a_maximum_length(
    client: httpx.AsyncClient, store: CountingStore, field: str, value: str, says: str
) -> None:
    cid = await new_customer(client)
    answer = await client.post(
        f"/v1/customers/{cid}/carts",
        json={"lineItems": [line(), line(**{field: value})]},
        headers=auth(),
    )
    assert_names(answer, 400, f"lineItems[1].{field}", says)
    assert await documents(store, "carts") == []


async def test_a_friendly_name_of_128_characters_after_trimming_fits_a_cart(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    name = "  " + "n" * 128 + "  "
    answer = await client.post(
        f"/v1/customers/{cid}/carts", json={"lineItems": [line(friendlyName=name)]}, headers=auth()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["lineItems"][0]["friendlyName"] == "n" * 128


@pytest.mark.parametrize(
    ("body", "target", "says"),
    [
        ({"friendlyName": "n" * 5000}, "friendlyName", "1 to 128"),
        ({"partnerId": "1" * 5000}, "partnerId", "at most 32 characters"),
        ({"status": "s" * 5000}, "status", "Input should be"),
        ({"k" * 5000: 1}, "k" * 50 + "…", "Extra inputs"),
    ],
)
async def test_every_string_of_a_patch_has_a_maximum_length(
    client: httpx.AsyncClient, active: Purchase, body: dict[str, Any], target: str, says: str
) -> None:
    answer = await client.patch(active.url, json=body, headers=auth())
    assert_names(answer, 400, target, says)


@pytest.mark.parametrize(
    ("query", "target"),
    [("status=" + "a" * 33, "status"), ("continuationToken=" + "t" * 257, "continuationToken")],
)
async def test_query_strings_have_a_maximum_length(
    client: httpx.AsyncClient, purchase: Purchase, query: str, target: str
) -> None:
    answer = await client.get(
        f"/v1/customers/{purchase.customer_id}/subscriptions?{query}", headers=auth()
    )
    assert_names(answer, 400, target)


@pytest.mark.parametrize(
    ("advance_by", "says"),
    [
        ("P" * 65, "at most 64 characters"),
        ("PT99999999999999999999S", "at most 1000 years"),  # was a 500 (OverflowError)
        ("P2913000D", "at most 1000 years"),  # fits from 2000, not from now: was a 500
    ],
)
async def test_the_test_clock_moves_by_a_bounded_duration_only(
    store: CountingStore, clock: FixedClock, advance_by: str, says: str
) -> None:
    app = build_app(SETTINGS.model_copy(update={"csp_test_clock": True}), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post(
            "/admin/test-clock", json={"advanceBy": advance_by}, headers=auth()
        )
    assert_names(answer, 400, "advanceBy", says)


# --- ids in paths


def paths(p: Purchase, bad: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(method, url, the parameter that is bad, body) for every route with an id."""
    c, o, s = p.customer_id, p.order_id, p.subscription_id
    return [
        ("GET", f"/v1/customers/{bad}", "cid", None),
        ("POST", f"/v1/customers/{bad}/carts", "cid", {"lineItems": [line()]}),
        ("GET", f"/v1/customers/{c}/carts/{bad}", "cartId", None),
        ("GET", f"/v1/customers/{bad}/carts/{GUID}", "cid", None),
        ("POST", f"/v1/customers/{c}/carts/{bad}/checkout", "cartId", None),
        ("GET", f"/v1/customers/{bad}/orders", "cid", None),
        ("GET", f"/v1/customers/{c}/orders/{bad}", "orderId", None),
        ("GET", f"/v1/customers/{c}/orders/{bad}/lineitems/0/activationlinks", "orderId", None),
        ("GET", f"/v1/customers/{bad}/orders/{o}/lineitems/0/activationlinks", "cid", None),
        ("GET", f"/v1/customers/{bad}/subscriptions", "cid", None),
        ("GET", f"/v1/customers/{c}/subscriptions/{bad}", "sid", None),
        ("PATCH", f"/v1/customers/{c}/subscriptions/{bad}", "sid", {"quantity": 6}),
        ("PATCH", f"/v1/customers/{bad}/subscriptions/{s}", "cid", {"quantity": 6}),
    ]


@pytest.mark.parametrize("bad", [LONG_ID, "nope", GUID + "0", "' OR 1=1 --"])
async def test_an_id_that_is_no_guid_is_a_404_naming_it_without_a_lookup(
    client: httpx.AsyncClient, store: CountingStore, purchase: Purchase, bad: str
) -> None:
    for method, url, target, body in paths(purchase, bad):
        store.opened = 0
        answer = await client.request(method, url, json=body, headers=auth())
        assert_names(answer, 404, target, "not found")
        assert store.opened == 0, (method, url[:80])


async def test_a_guid_in_capitals_names_the_same_customer(
    client: httpx.AsyncClient, purchase: Purchase
) -> None:
    answer = await client.get(f"/v1/customers/{purchase.customer_id.upper()}", headers=auth())
    assert answer.status_code == 200
    assert answer.json()["id"] == purchase.customer_id


async def test_a_line_item_number_of_5000_digits_is_a_404(
    client: httpx.AsyncClient, purchase: Purchase
) -> None:
    url = f"/v1/customers/{purchase.customer_id}/orders/{purchase.order_id}/lineitems/{'9' * 5000}/activationlinks"
    answer = await client.get(url, headers=auth())
    assert_names(answer, 404, "n", "has no line item")


def test_the_openapi_document_declares_the_limits(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    customer = schemas["CustomerIn"]["properties"]
    assert customer["companyName"]["maxLength"] == 256
    line_item = schemas["LineItemIn"]["properties"]
    assert line_item["offerId"]["maxLength"] == 64
    parameters = app.openapi()["paths"]["/v1/customers/{cid}"]["get"]["parameters"]
    assert parameters[0]["schema"]["format"] == "uuid"


async def test_a_clock_already_near_the_last_date_refuses_to_move_past_it(
    store: CountingStore, clock: FixedClock
) -> None:
    app = build_app(SETTINGS.model_copy(update={"csp_test_clock": True}), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(8):  # 8 x 999 years lands past 9999-12-31 from any start
            answer = await client.post(
                "/admin/test-clock", json={"advanceBy": "P999Y"}, headers=auth()
            )
            if answer.status_code != 200:
                break
        assert_names(answer, 400, "advanceBy", "out of range")  # by calendar years
        by_seconds = await client.post(  # by a timedelta: an OverflowError, was a 500
            "/admin/test-clock", json={"advanceBy": "PT31000000000S"}, headers=auth()
        )
    assert_names(by_seconds, 400, "advanceBy", "past the last date")
