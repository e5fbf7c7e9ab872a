"""Every list of the partner API pages: `?size`, `links.next`, continuation tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ordering.entrypoints.consumers import SUBSCRIPTION_VIEW
from shared.http.paging import TOKEN_PARAM
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    activation_completed,
    auth,
    checked_out_order,
    emitted,
    line,
    link_issued,
    new_customer,
)


async def walk(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every page, following `links.next` from `url` until a page has none."""
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers or auth())
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["totalCount"] == len(body["items"])
        pages.append(body)
        if "links" in body:
            assert set(body["links"]) == {"next"} and body["links"]["next"]["method"] == "GET"
            next_url = body["links"]["next"]["uri"]
            assert next_url.startswith(url.split("?")[0] + "?")  # relative to the root
        else:
            next_url = None
        assert len(pages) < 50, "the walk never ends"
    return pages


def ids(pages: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [item[key] for page in pages for item in page["items"]]


def sizes(pages: list[dict[str, Any]]) -> list[int]:
    return [len(page["items"]) for page in pages]


async def test_customers_page_in_creation_order_each_exactly_once(
    client: httpx.AsyncClient,
) -> None:
    created = [await new_customer(client, name=f"C{n}") for n in range(5)]
    await new_customer(client, partner_id="partner-b")
    pages = await walk(client, "/v1/customers?size=2")
    assert sizes(pages) == [2, 2, 1]
    assert ids(pages) == created
    assert "links" not in pages[-1]
    assert ids(await walk(client, "/v1/customers")) == created  # one page by default
    assert (await client.get("/v1/customers?size=5", headers=auth())).json().get("links") is None


async def test_the_default_page_is_100_and_a_page_may_hold_500(
    client: httpx.AsyncClient,
) -> None:
    created = [await new_customer(client, name=f"C{n}") for n in range(101)]
    pages = await walk(client, "/v1/customers")
    assert sizes(pages) == [100, 1]
    assert "size=100" in pages[0]["links"]["next"]["uri"]
    assert ids(pages) == created
    assert sizes(await walk(client, "/v1/customers?size=500")) == [101]


async def test_offers_page_through_the_catalog_in_its_order(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/v1/offers", headers=auth())).json()
    pages = await walk(client, "/v1/offers?size=2")
    assert sizes(pages) == [2, len(everything["items"]) - 2]
    assert [o for page in pages for o in page["items"]] == everything["items"]


async def test_orders_page_in_placing_order(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    placed = [(await checked_out_order(client, cid))["id"] for _ in range(3)]
    pages = await walk(client, f"/v1/customers/{cid}/orders?size=2")
    assert sizes(pages) == [2, 1] and ids(pages) == placed


async def activate(app: FastAPI, store: MemoryStore, subscription_ids: list[str]) -> None:
    """Provisioning's events into the partner's view: these subscriptions become active."""
    consumer = SUBSCRIPTION_VIEW.consumer(app.state.bus, dead_letter)
    correlation = {e.subject: e.correlation_id for e in await emitted(store)}
    for sid in subscription_ids:
        for event in (
            link_issued(sid, correlation[sid]),
            activation_completed(sid, correlation[sid]),
        ):
            assert await consumer.handle(event.to_bytes()) == "handled"


async def dead_letter(topic: str, payload: bytes, headers: dict[str, str]) -> None:
    raise AssertionError(f"dead-lettered on {topic}: {payload!r}")


async def test_the_status_filter_applies_across_pages(
    app: FastAPI, client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid, *(line(quantity=q) for q in range(1, 7)))
    bought = [li["subscriptionId"] for li in order["lineItems"]]
    await checked_out_order(client, await new_customer(client, name="Other"))
    active = [bought[0], bought[2], bought[3], bought[5]]
    await activate(app, store, active)
    base = f"/v1/customers/{cid}/subscriptions"

    pages = await walk(client, f"{base}?status=active&size=3")
    assert sizes(pages) == [3, 1] and ids(pages) == active
    assert "status=active" in pages[0]["links"]["next"]["uri"]
    assert {s["status"] for page in pages for s in page["items"]} == {"active"}
    pending = await walk(client, f"{base}?size=1&status=pending")
    assert ids(pending) == [bought[1], bought[4]] and sizes(pending) == [1, 1]
    assert ids(await walk(client, f"{base}?size=4")) == bought


async def test_activation_links_page_too(
    app: FastAPI, client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid)
    [sid] = [li["subscriptionId"] for li in order["lineItems"]]
    url = f"/v1/customers/{cid}/orders/{order['id']}/lineitems/0/activationlinks?size=1"
    assert await walk(client, url) == [{"totalCount": 0, "items": []}]
    await activate(app, store, [sid])
    [page] = await walk(client, url)
    assert page["totalCount"] == 1 and "links" not in page


async def list_urls(client: httpx.AsyncClient) -> list[str]:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid)
    return [
        "/v1/offers",
        "/v1/customers",
        f"/v1/customers/{cid}/orders",
        f"/v1/customers/{cid}/subscriptions",
        f"/v1/customers/{cid}/orders/{order['id']}/lineitems/0/activationlinks",
    ]


@pytest.mark.parametrize("size", ["0", "501", "-1", "x", "1.5", ""])
async def test_a_size_out_of_range_or_not_an_integer_is_a_400_naming_size(
    client: httpx.AsyncClient, size: str
) -> None:
    for url in await list_urls(client):
        response = await client.get(url, params={"size": size}, headers=auth())
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["target"] == "size", url


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoxfQ", "!!!", "a" * 600])
async def test_a_malformed_token_is_a_400_naming_it(client: httpx.AsyncClient, token: str) -> None:
    for url in await list_urls(client):
        response = await client.get(url, params={TOKEN_PARAM: token}, headers=auth())
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["target"] == TOKEN_PARAM, url


async def next_token(client: httpx.AsyncClient, url: str, who: str = "partner-a") -> str:
    body = (await client.get(url, headers=auth(who))).json()
    return str(httpx.URL(body["links"]["next"]["uri"]).params[TOKEN_PARAM])


async def test_a_token_only_works_for_its_own_list_filter_and_partner(
    app: FastAPI, client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    await new_customer(client, name="Second")
    order = await checked_out_order(client, cid, line(), line(), line())
    for _ in range(2):
        await checked_out_order(client, cid)
    await activate(app, store, [li["subscriptionId"] for li in order["lineItems"]])
    subs = f"/v1/customers/{cid}/subscriptions"
    of_customers = await next_token(client, "/v1/customers?size=1")
    of_active = await next_token(client, f"{subs}?status=active&size=1")
    of_orders = await next_token(client, f"/v1/customers/{cid}/orders?size=1")
    misuses = [
        (f"/v1/customers/{cid}/orders", of_customers),  # another list
        (f"{subs}?status=pending", of_active),  # another filter
        (subs, of_active),  # without the filter
        (subs, of_orders),
        ("/v1/offers", of_customers),
    ]
    for url, token in misuses:
        response = await client.get(url, params={TOKEN_PARAM: token}, headers=auth())
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["target"] == TOKEN_PARAM
    await new_customer(client, partner_id="partner-b")
    await new_customer(client, partner_id="partner-b")
    stolen = await client.get(
        "/v1/customers", params={TOKEN_PARAM: of_customers}, headers=auth("partner-b")
    )
    assert stolen.status_code == 400  # another partner's token: never a page of its own list


async def test_a_token_survives_other_query_parameter_order_and_a_new_size(
    client: httpx.AsyncClient,
) -> None:
    created = [await new_customer(client, name=f"C{n}") for n in range(4)]
    token = await next_token(client, "/v1/customers?size=1")
    response = await client.get(
        "/v1/customers", params={TOKEN_PARAM: token, "size": 5}, headers=auth()
    )
    assert [c["id"] for c in response.json()["items"]] == created[1:]
    assert "links" not in response.json()
