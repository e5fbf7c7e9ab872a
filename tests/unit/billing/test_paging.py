"""The billing API's lists page: invoices newest first, charges with the whole balance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing.bootstrap import build_app
from services.billing.domain.billing_period import Period
from services.billing.domain.invoice import newest_first
from services.billing.domain.ledger import LedgerLine
from services.billing.settings import BillingSettings
from shared.clock import FixedClock
from shared.events.provisioning import ActivationCompleted
from shared.http.auth import mint_token
from shared.http.paging import TOKEN_PARAM
from shared.store.memory import MemoryStore
from tests.unit.billing.builders import NOW, activation_completed, unit_of_work

SETTINGS = BillingSettings()


def bearer(partner_id: str) -> dict[str, str]:
    claims = {"sub": "alice", "partnerId": partner_id, "roles": ["GlobalAdmin"]}
    return {"Authorization": f"Bearer {mint_token(SETTINGS.csp_jwt_secret, claims)}"}


PARTNER_A, PARTNER_B = bearer("partner-a"), bearer("partner-b")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def app(store: MemoryStore, clock: FixedClock) -> FastAPI:
    return build_app(SETTINGS, store=store, clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # the lifespan does not run: no broker
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def activate(app: FastAPI, **fields: Any) -> ActivationCompleted:
    event = activation_completed(**fields)
    [consumer] = app.state.runtime.consumers
    assert await consumer.handle(event.to_bytes()) == "handled"
    return event


async def walk(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] = PARTNER_A
) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["totalCount"] == len(body["items"])
        pages.append(body)
        next_url = body["links"]["next"]["uri"] if "links" in body else None
        if next_url is not None:
            assert body["links"]["next"]["method"] == "GET"
            assert next_url.startswith(url.split("?")[0] + "?")
        assert len(pages) < 50, "the walk never ends"
    return pages


def numbers(pages: list[dict[str, Any]]) -> list[str]:
    return [item["number"] for page in pages for item in page["items"]]


async def issue_invoices(app: FastAPI, clock: FixedClock) -> None:
    """Seven documents for partner-a (two customers, some issued at the same moment)
    and one for partner-b."""
    for n, customer in enumerate(["cust-1", "cust-2", "cust-1", "cust-2", "cust-1", "cust-1"]):
        await activate(app, customer_id=customer)
        if n % 2:
            clock.advance(timedelta(hours=1))
    await activate(app, customer_id="cust-9", partner_id="partner-b")
    await activate(app, customer_id="cust-2")


async def test_invoices_page_newest_first_each_exactly_once(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock, store: MemoryStore
) -> None:
    await issue_invoices(app, clock)
    async with unit_of_work(store) as uow:
        expected = [d.number for d in newest_first(await uow.invoices.of_partner("partner-a"))]
    assert len(expected) == 7

    pages = await walk(client, "/v1/invoices?size=3")
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert numbers(pages) == expected
    assert "links" not in pages[-1]
    assert numbers(await walk(client, "/v1/invoices?size=1")) == expected
    assert numbers(await walk(client, "/v1/invoices")) == expected


async def test_the_customer_filter_applies_across_pages(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock, store: MemoryStore
) -> None:
    await issue_invoices(app, clock)
    async with unit_of_work(store) as uow:
        mine = await uow.invoices.of_partner("partner-a", "cust-1")
    expected = [d.number for d in newest_first(mine)]

    pages = await walk(client, "/v1/invoices?customerId=cust-1&size=3")
    assert numbers(pages) == expected and [len(p["items"]) for p in pages] == [3, 1]
    assert "customerId=cust-1" in pages[0]["links"]["next"]["uri"]
    assert {i["customerId"] for p in pages for i in p["items"]} == {"cust-1"}
    other = await walk(client, "/v1/invoices?size=2&customerId=cust-9", headers=PARTNER_B)
    assert [len(p["items"]) for p in other] == [1]


async def post_more_lines(store: MemoryStore, subscription_id: str) -> list[LedgerLine]:
    """Three more lines of the subscription (two charges and a credit), posted in order,
    each from another day of the period (the ledger holds one line per span and type)."""
    async with unit_of_work(store) as uow:
        sub = await uow.subscriptions.get(subscription_id)
        assert sub is not None
        posted = []
        for n in range(3):
            first = sub.first_period()
            span = Period(start=first.start + timedelta(days=n + 1), end=first.end)
            line = LedgerLine.period_charge(
                sub, span, event_id=f"evt-{n}", posted_at=NOW, invoice_id=f"i{n}"
            )
            if n == 2:
                credit = {"id": f"credit-{n}", "type": "credit", "amount": -line.amount}
                line = line.model_copy(update=credit)
            posted.append(await uow.ledger.add(line))
        await uow.commit()
    return posted


async def test_charges_page_in_posting_order_and_the_balance_is_of_every_line(
    app: FastAPI, client: httpx.AsyncClient, store: MemoryStore
) -> None:
    event = await activate(app, quantity=2, price_per_seat="10.00")
    sid, cid = event.data.subscription_id, event.data.customer_id
    more = await post_more_lines(store, sid)
    url = f"/v1/customers/{cid}/subscriptions/{sid}/charges"
    everything = (await client.get(url, headers=PARTNER_A)).json()
    assert everything["totalCount"] == 4 and "links" not in everything
    assert everything["balance"] == "40.00"  # 3 charges of 20.00, a credit of 20.00

    pages = await walk(client, f"{url}?size=3")
    assert [len(p["items"]) for p in pages] == [3, 1]
    assert [c for p in pages for c in p["items"]] == everything["items"]
    assert [c["id"] for c in everything["items"]][1:] == [line.id for line in more]
    assert {p["balance"] for p in pages} == {"40.00"}  # not the page's own sum


async def test_bad_sizes_and_tokens_are_400s_naming_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(app)
    charges = (
        f"/v1/customers/{event.data.customer_id}/subscriptions/{event.data.subscription_id}/charges"
    )
    for url in ("/v1/invoices", charges):
        for size in ("0", "501", "x", "2.0"):
            response = await client.get(url, params={"size": size}, headers=PARTNER_A)
            assert response.status_code == 400, (url, size, response.text)
            assert response.json()["error"]["target"] == "size"
        for token in ("garbage", "eyJ2IjoxLCJhIjoxLCJjIjoiMCJ9", "%00"):
            response = await client.get(url, params={TOKEN_PARAM: token}, headers=PARTNER_A)
            assert response.status_code == 400, (url, token, response.text)
            assert response.json()["error"]["target"] == TOKEN_PARAM


async def test_a_token_is_bound_to_its_list_filter_and_partner(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    await issue_invoices(app, clock)
    first = (await client.get("/v1/invoices?size=1&customerId=cust-1", headers=PARTNER_A)).json()
    token = httpx.URL(first["links"]["next"]["uri"]).params[TOKEN_PARAM]
    misuses = [
        ("/v1/invoices", {}, PARTNER_A),  # without the filter
        ("/v1/invoices", {"customerId": "cust-2"}, PARTNER_A),  # another filter
        ("/v1/invoices", {"customerId": "cust-1"}, PARTNER_B),  # another partner
    ]
    for url, params, who in misuses:
        response = await client.get(url, params={**params, TOKEN_PARAM: token}, headers=who)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["target"] == TOKEN_PARAM
