"""Who may call what: roles, token kinds, and partner isolation (404 for the rest)."""

from __future__ import annotations

import httpx
import jwt
import pytest

from tests.unit.ordering.helpers import (
    auth,
    checked_out_order,
    line,
    new_cart,
    new_customer,
    publisher_auth,
)

READ_ONLY_ROLES = ["HelpdeskAgent", "SalesAgent", "BillingAdmin"]


async def test_customers_list_shows_only_the_callers_own(client: httpx.AsyncClient) -> None:
    mine = await new_customer(client, "partner-a", "Mine")
    await new_customer(client, "partner-b", "Theirs")

    listed = await client.get("/v1/customers", headers=auth("partner-a", ["SalesAgent"]))

    assert listed.status_code == 200
    assert listed.json()["totalCount"] == 1
    assert [c["id"] for c in listed.json()["items"]] == [mine]


async def test_everything_under_another_partners_customer_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    theirs = await new_customer(client, "partner-b")
    order = await checked_out_order(client, theirs, partner_id="partner-b")
    sid = order["lineItems"][0]["subscriptionId"]
    cart = await new_cart(client, theirs, partner_id="partner-b")
    base = f"/v1/customers/{theirs}"
    me = auth("partner-a")

    answers = [
        await client.get(base, headers=me),
        await client.post(f"{base}/carts", json={"lineItems": [line()]}, headers=me),
        await client.get(f"{base}/carts/{cart['id']}", headers=me),
        await client.post(f"{base}/carts/{cart['id']}/checkout", headers=me),
        await client.get(f"{base}/orders", headers=me),
        await client.get(f"{base}/orders/{order['id']}", headers=me),
        await client.get(f"{base}/orders/{order['id']}/lineitems/0/activationlinks", headers=me),
        await client.get(f"{base}/subscriptions", headers=me),
        await client.get(f"{base}/subscriptions?status=bogus", headers=me),
        await client.get(f"{base}/subscriptions/{sid}", headers=me),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.json()["error"]["code"] == "NotFound" for a in answers)
    # ...while the owner sees them all.
    assert (
        await client.get(f"{base}/subscriptions/{sid}", headers=auth("partner-b"))
    ).status_code == 200


async def test_a_subscription_is_only_found_under_its_own_customer(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    other = await new_customer(client, name="Sister company")
    order = await checked_out_order(client, cid)
    sid = order["lineItems"][0]["subscriptionId"]

    response = await client.get(f"/v1/customers/{other}/subscriptions/{sid}", headers=auth())

    assert response.status_code == 404


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
async def test_read_only_roles_get_403_on_every_write_but_can_read(
    client: httpx.AsyncClient, role: str
) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid)
    reader = auth(roles=[role])

    writes = [
        await client.post("/v1/customers", json={"companyName": "X"}, headers=reader),
        await client.post(
            f"/v1/customers/{cid}/carts", json={"lineItems": [line()]}, headers=reader
        ),
        await client.post(f"/v1/customers/{cid}/carts/{cart['id']}/checkout", headers=reader),
    ]
    reads = [
        await client.get("/v1/offers", headers=reader),
        await client.get("/v1/customers", headers=reader),
        await client.get(f"/v1/customers/{cid}", headers=reader),
        await client.get(f"/v1/customers/{cid}/carts/{cart['id']}", headers=reader),
        await client.get(f"/v1/customers/{cid}/subscriptions", headers=reader),
    ]

    assert [w.status_code for w in writes] == [403, 403, 403]
    assert [r.status_code for r in reads] == [200] * len(reads)
    assert (await client.get("/v1/customers", headers=auth())).json()["totalCount"] == 1


async def test_admin_agent_may_write(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers", json={"companyName": "X"}, headers=auth(roles=["AdminAgent"])
    )
    assert response.status_code == 201


async def test_a_read_only_write_is_refused_before_its_body_is_judged(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    response = await client.post(
        f"/v1/customers/{cid}/carts", json={}, headers=auth(roles=["SalesAgent"])
    )
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/v1/offers", "/v1/customers"])
async def test_a_publisher_token_is_forbidden_on_the_partner_api(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(path, headers=publisher_auth())).status_code == 403
    assert (
        await client.post("/v1/customers", json={"companyName": "X"}, headers=publisher_auth())
    ).status_code == 403


async def test_a_partner_user_without_any_known_role_is_forbidden(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/customers", headers=auth(roles=["Guest"]))).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {
            "Authorization": "Bearer "
            + jwt.encode(
                {"sub": "x", "partnerId": "partner-a", "roles": ["GlobalAdmin"]},
                "some-other-secret-of-at-least-32-bytes",
                algorithm="HS256",
            )
        },
    ],
)
async def test_missing_or_invalid_tokens_are_unauthorized(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert (await client.get("/v1/customers", headers=headers)).status_code == 401
    assert (
        await client.post("/v1/customers", json={"companyName": "X"}, headers=headers)
    ).status_code == 401
