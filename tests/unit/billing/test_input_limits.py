"""Input limits of the billing API: ids in paths checked before any lookup (a 404: no
such id can exist), query strings of bounded length, and the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.billing.bootstrap import build_app
from shared.clock import FixedClock
from tests.support.counting_store import CountingStore
from tests.unit.billing.builders import NOW
from tests.unit.billing.test_billing_api import PARTNER_A, SETTINGS, activate


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def app(store: CountingStore) -> FastAPI:
    return build_app(SETTINGS, store=store, clock=FixedClock(NOW))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def assert_names(answer: httpx.Response, status: int, target: str, says: str = "") -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["target"] == target
    assert says in error["message"]
    assert len(error["message"]) < 150  # whatever was sent is not quoted back


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("/v1/invoices/" + "7" * 5000, "invoiceId"),
        ("/v1/invoices/no-such-invoice", "invoiceId"),
        ("/v1/customers/" + "c" * 65 + "/subscriptions/sub-1/charges", "customerId"),
        ("/v1/customers/cust-1/subscriptions/" + "s" * 5000 + "/charges", "subscriptionId"),
        ("/v1/customers/cust 1/subscriptions/sub-1/charges", "customerId"),
        ("/v1/customers/cust-1/subscriptions/-sub/charges", "subscriptionId"),
    ],
)
async def test_an_id_that_cannot_be_one_is_a_404_naming_it_without_a_lookup(
    client: httpx.AsyncClient, store: CountingStore, url: str, target: str
) -> None:
    answer = await client.get(url, headers=PARTNER_A)
    assert_names(answer, 404, target, "not found")
    assert store.opened == 0


async def test_ids_of_other_services_events_are_read_as_they_came(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(app, customer_id="cust-1", subscription_id="sub-1.a:b@c_d")
    url = f"/v1/customers/cust-1/subscriptions/{event.data.subscription_id}/charges"
    answer = await client.get(url, headers=PARTNER_A)
    assert answer.status_code == 200, answer.text
    [charge] = answer.json()["items"]
    invoice = await client.get(f"/v1/invoices/{charge['invoiceId'].upper()}", headers=PARTNER_A)
    assert invoice.status_code == 200
    assert invoice.json()["id"] == charge["invoiceId"]


@pytest.mark.parametrize(
    ("query", "target", "says"),
    [
        ("customerId=" + "c" * 65, "customerId", "at most 64 characters"),
        ("continuationToken=" + "t" * 257, "continuationToken", "at most 256 characters"),
    ],
)
async def test_query_strings_have_a_maximum_length(
    client: httpx.AsyncClient, query: str, target: str, says: str
) -> None:
    assert_names(await client.get(f"/v1/invoices?{query}", headers=PARTNER_A), 400, target, says)


async def test_the_body_limit_holds_on_the_billing_api_too(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/invoices", content=b"x" * 2_000_000, headers=PARTNER_A)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PayloadTooLarge"
