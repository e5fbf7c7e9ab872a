"""The two outside actors of the flow, speaking only HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from tests.support.polling import eventually

API_VERSION = {"api-version": "2018-08-31"}


class Partner:
    def __init__(self, ordering: str, billing: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.ordering = httpx.AsyncClient(base_url=ordering, headers=headers, timeout=10)
        self.billing = httpx.AsyncClient(base_url=billing, headers=headers, timeout=10)

    async def close(self) -> None:
        await self.ordering.aclose()
        await self.billing.aclose()

    async def buy(self, *line_items: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create a customer, a cart with these lines, check out; returns (customer id, order)."""
        customer = await self.ordering.post(
            "/v1/customers", json={"companyName": "Adatum", "domain": "adatum.example"}
        )
        assert customer.status_code == 201, customer.text
        cid = customer.json()["id"]
        cart = await self.ordering.post(
            f"/v1/customers/{cid}/carts", json={"lineItems": list(line_items)}
        )
        assert cart.status_code == 201, cart.text
        checkout = await self.ordering.post(
            f"/v1/customers/{cid}/carts/{cart.json()['id']}/checkout"
        )
        assert checkout.status_code == 201, checkout.text
        return cid, checkout.json()["orders"][0]

    async def subscription(self, cid: str, sid: str) -> dict[str, Any]:
        response = await self.ordering.get(f"/v1/customers/{cid}/subscriptions/{sid}")
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for_subscription(
        self, cid: str, sid: str, until: Any, what: str
    ) -> dict[str, Any]:
        return await eventually(lambda: self.subscription(cid, sid), until, what=what)

    async def charges(self, cid: str, sid: str) -> httpx.Response:
        return await self.billing.get(f"/v1/customers/{cid}/subscriptions/{sid}/charges")

    async def ledger(self, cid: str, sid: str) -> dict[str, Any]:
        """The subscription's charges (empty until billing has seen it)."""
        response = await self.charges(cid, sid)
        if response.status_code == 404:
            return {"totalCount": 0, "items": [], "balance": None}
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for_ledger(self, cid: str, sid: str, until: Any, what: str) -> dict[str, Any]:
        return await eventually(lambda: self.ledger(cid, sid), until, what=what)

    async def change(self, cid: str, sid: str, **fields: Any) -> httpx.Response:
        """PATCH the subscription with these camelCase fields."""
        return await self.ordering.patch(f"/v1/customers/{cid}/subscriptions/{sid}", json=fields)

    async def document(self, invoice_id: str) -> dict[str, Any]:
        response = await self.billing.get(f"/v1/invoices/{invoice_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def advance_clock(self, by: str, *services: str) -> datetime:
        """Move business time (ordering announces it) and wait until every one of
        `services` (base URLs) runs at the new time."""
        moved = await self.ordering.post("/admin/test-clock", json={"advanceBy": by})
        assert moved.status_code == 200, moved.text
        target = datetime.fromisoformat(moved.json()["now"])

        async def now_at(base: str) -> datetime:
            answer = await self.ordering.get(f"{base}/admin/test-clock")
            assert answer.status_code == 200, answer.text
            return datetime.fromisoformat(answer.json()["now"])

        for base in services:
            await eventually(
                lambda b=base: now_at(b), lambda now: now >= target, what=f"{base} at {by}"
            )
        return target


class Publisher:
    def __init__(self, provisioning: str, token: str) -> None:
        self.api = httpx.AsyncClient(
            base_url=provisioning,
            headers={"Authorization": f"Bearer {token}"},
            params=API_VERSION,
            timeout=10,
        )

    async def close(self) -> None:
        await self.api.aclose()

    async def resolve(self, activation_link: str) -> dict[str, Any]:
        # The landing page receives ?token=...; the publisher passes it on decoded.
        token = parse_qs(urlparse(activation_link).query)["token"][0]
        response = await self.api.post(
            "/api/saas/subscriptions/resolve", headers={"x-ms-marketplace-token": token}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def assign_licenses(self, sid: str, *users: str) -> httpx.Response:
        body = {"assignments": [{"userId": u, "email": f"{u}@adatum.example"} for u in users]}
        return await self.api.put(f"/api/saas/subscriptions/{sid}/licenses", json=body)

    async def activate(self, sid: str, plan_id: str, quantity: int) -> httpx.Response:
        return await self.api.post(
            f"/api/saas/subscriptions/{sid}/activate",
            json={"planId": plan_id, "quantity": quantity},
        )

    async def subscription(self, sid: str) -> dict[str, Any]:
        response = await self.api.get(f"/api/saas/subscriptions/{sid}")
        assert response.status_code == 200, response.text
        return response.json()

    async def operations(self, sid: str) -> list[dict[str, Any]]:
        response = await self.api.get(f"/api/saas/subscriptions/{sid}/operations")
        assert response.status_code == 200, response.text
        return response.json()["operations"]

    async def operation(self, sid: str, operation_id: str) -> httpx.Response:
        return await self.api.get(f"/api/saas/subscriptions/{sid}/operations/{operation_id}")

    async def answer(
        self, sid: str, operation_id: str, status: str, **extra: Any
    ) -> httpx.Response:
        """PATCH an operation: `Success` accepts a seat change, `Failure` rejects it."""
        return await self.api.patch(
            f"/api/saas/subscriptions/{sid}/operations/{operation_id}",
            json={"status": status, **extra},
        )


async def bought_and_charged(
    partner: Partner, publisher: Publisher, line: dict[str, Any]
) -> tuple[str, str]:
    """`line` bought, its link resolved, a license assigned and the plan activated with its
    seats, until the first charge is on the ledger: (customer id, subscription id)."""
    cid, order = await partner.buy(line)
    sid = order["lineItems"][0]["subscriptionId"]
    sub = await partner.wait_for_subscription(
        cid, sid, lambda s: s["activationLink"] is not None, "activation link"
    )
    await publisher.resolve(sub["activationLink"])
    assert (await publisher.assign_licenses(sid, "ann")).status_code == 200
    activated = await publisher.activate(sid, line["planId"], line["quantity"])
    assert activated.status_code == 200, activated.text
    await partner.wait_for_ledger(cid, sid, lambda c: c["totalCount"] >= 1, "first charge")
    return cid, sid
