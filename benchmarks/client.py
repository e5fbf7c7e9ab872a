"""The lean HTTP side of the load generator: one aiohttp session per service, JSON by
hand, no retries and no assertions in the hot path (the caller checks the status)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp

API_VERSION = "2018-08-31"


class HttpError(RuntimeError):
    def __init__(self, what: str, status: int, body: bytes) -> None:
        super().__init__(f"{what}: {status} {body[:300].decode(errors='replace')}")
        self.status = status


class Api:
    def __init__(self, base: str, token: str, connections: int = 64, timeout_s: float = 30) -> None:
        self._session = aiohttp.ClientSession(
            base_url=base,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            connector=aiohttp.TCPConnector(limit=connections, ttl_dns_cache=None),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            json_serialize=json.dumps,
        )

    async def close(self) -> None:
        await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int = 200,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        async with self._session.request(
            method, path, data=data, params=params, headers=headers
        ) as answer:
            raw = await answer.read()
            if answer.status != expect:
                raise HttpError(f"{method} {path}", answer.status, raw)
        return json.loads(raw) if raw else None


class PartnerClient:
    def __init__(self, ordering: str, billing: str, token: str) -> None:
        self.ordering = Api(ordering, token)
        # Only the final check lists invoices: whole lists, which may take a while.
        self.billing = Api(billing, token, connections=8, timeout_s=120)

    async def close(self) -> None:
        await self.ordering.close()
        await self.billing.close()

    async def customer(self, name: str) -> str:
        body = {"companyName": name, "domain": f"{name.lower()}.example"}
        return str((await self.ordering.call("POST", "/v1/customers", body, expect=201))["id"])

    async def cart(self, cid: str, lines: list[dict[str, Any]]) -> str:
        body = {"lineItems": lines}
        cart = await self.ordering.call("POST", f"/v1/customers/{cid}/carts", body, expect=201)
        return str(cart["id"])

    async def checkout(self, cid: str, cart_id: str) -> list[dict[str, Any]]:
        """The order's line items (each names its subscription and quantity)."""
        path = f"/v1/customers/{cid}/carts/{cart_id}/checkout"
        answer = await self.ordering.call("POST", path, expect=201)
        return list(answer["orders"][0]["lineItems"])

    async def subscription(self, cid: str, sid: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.ordering.call(
            "GET", f"/v1/customers/{cid}/subscriptions/{sid}"
        )
        return answer

    async def invoices(self, cid: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        path: str | None = f"/v1/invoices?customerId={cid}&size=500"
        while path is not None:
            page = await self.billing.call("GET", path)
            items += page["items"]
            path = (page.get("links") or {}).get("next", {}).get("uri")
        return items


class PublisherClient:
    def __init__(self, provisioning: str, token: str) -> None:
        self.api = Api(provisioning, token)
        self._version = {"api-version": API_VERSION}

    async def close(self) -> None:
        await self.api.close()

    async def resolve(self, activation_link: str) -> str:
        """The subscription id the link's token resolves to."""
        # The landing page receives ?token=...; the publisher passes it on decoded.
        token = parse_qs(urlparse(activation_link).query)["token"][0]
        answer = await self.api.call(
            "POST",
            "/api/saas/subscriptions/resolve",
            params=self._version,
            headers={"x-ms-marketplace-token": token},
        )
        return str(answer["id"])

    async def assign_licenses(self, sid: str, quantity: int) -> None:
        users = [f"user{k}" for k in range(quantity)]
        body = {"assignments": [{"userId": u, "email": f"{u}@bench.example"} for u in users]}
        path = f"/api/saas/subscriptions/{sid}/licenses"
        await self.api.call("PUT", path, body, params=self._version)

    async def activate(self, sid: str, plan_id: str, quantity: int) -> None:
        body = {"planId": plan_id, "quantity": quantity}
        path = f"/api/saas/subscriptions/{sid}/activate"
        await self.api.call("POST", path, body, params=self._version)
