"""Bearer JWTs become principals through FastAPI's HTTPBearer: declared in every OpenAPI
document, 401 without a valid token, 403 for the wrong kind of caller or role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI

from shared.clock import FixedClock
from shared.errors import Unauthorized
from shared.http.app import create_service_app
from shared.http.auth import (
    Authenticator,
    PartnerUser,
    PublisherClient,
    decode_principal,
    mint_token,
)
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore

SECRET = "unit-test-secret-of-at-least-32-bytes"
READER = mint_token(SECRET, {"sub": "alice", "partnerId": "p1", "roles": ["SalesAgent"]})
WRITER = mint_token(SECRET, {"sub": "bob", "partnerId": "p1", "roles": ["GlobalAdmin"]})
NO_ROLE = mint_token(SECRET, {"sub": "carol", "partnerId": "p1", "roles": ["Guest"]})
PUBLISHER = mint_token(SECRET, {"sub": "app", "publisherId": "contoso"})


def service_app() -> FastAPI:
    """Built the way every service is built, with one route per kind of caller."""
    auth = Authenticator(SECRET)
    router = APIRouter()

    @router.get("/read")
    async def read(user: PartnerUser = Depends(auth.partner_reader)) -> dict[str, str]:
        return {"user": user.user_id}

    @router.post("/write")
    async def write(user: PartnerUser = Depends(auth.partner_writer)) -> dict[str, str]:
        return {"user": user.user_id}

    @router.get("/publish")
    async def publish(client: PublisherClient = Depends(auth.publisher)) -> dict[str, str]:
        return {"publisher": client.publisher_id}

    runtime = ServiceRuntime(
        name="test",
        store=MemoryStore(),
        broker=make_broker("127.0.0.1:1", client_id="test"),  # never started here
        clock=FixedClock(datetime(2026, 11, 22, tzinfo=UTC)),
    )
    return create_service_app(runtime=runtime, title="test", routers=[router])


def client(token: str | None = None, scheme: str = "Bearer") -> httpx.AsyncClient:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service_app()), base_url="http://t", headers=headers
    )


async def test_the_openapi_document_declares_the_bearer_scheme_on_protected_routes() -> None:
    async with client() as api:
        document = (await api.get("/openapi.json")).json()

    schemes = document["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http"
    assert scheme["scheme"].lower() == "bearer"
    for path, method in [("/read", "get"), ("/write", "post"), ("/publish", "get")]:
        assert document["paths"][path][method]["security"] == [{name: []}]


@pytest.mark.parametrize(
    ("token", "scheme"),
    [(None, "Bearer"), ("", "Bearer"), (READER, "Basic"), ("garbage", "Bearer")],
    ids=["no-header", "empty-token", "not-bearer", "not-a-jwt"],
)
async def test_no_valid_bearer_token_is_a_401_in_the_shared_error_shape(
    token: str | None, scheme: str
) -> None:
    async with client(token, scheme) as api:
        answer = await api.get("/read")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "Unauthorized"
    assert set(answer.json()) == {"error"}
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("token", "path", "method"),
    [
        (NO_ROLE, "/read", "GET"),
        (PUBLISHER, "/read", "GET"),
        (READER, "/write", "POST"),
        (READER, "/publish", "GET"),
    ],
    ids=["no-partner-role", "publisher-on-partner-route", "reader-writes", "partner-as-publisher"],
)
async def test_the_wrong_caller_or_role_is_a_403(token: str, path: str, method: str) -> None:
    async with client(token) as api:
        answer = await api.request(method, path)

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Forbidden"


async def test_the_right_caller_gets_through_as_its_principal() -> None:
    async with client(READER) as api:
        assert (await api.get("/read")).json() == {"user": "alice"}
    async with client(WRITER) as api:
        assert (await api.post("/write")).json() == {"user": "bob"}
    async with client(PUBLISHER) as api:
        assert (await api.get("/publish")).json() == {"publisher": "contoso"}


def test_partner_and_publisher_tokens_become_principals() -> None:
    partner = decode_principal(READER, SECRET)
    publisher = decode_principal(PUBLISHER, SECRET)
    assert partner == PartnerUser("alice", "p1", frozenset({"SalesAgent"}))
    assert partner.can_read and not partner.can_write
    assert publisher == PublisherClient("app", "contoso")


@pytest.mark.parametrize(
    "token",
    [
        mint_token(SECRET, {"sub": "a", "partnerId": "p"}, ttl=timedelta(seconds=-5)),
        mint_token("another-secret-of-at-least-32-bytes!!", {"sub": "a", "partnerId": "p"}),
        jwt.encode({"sub": "a", "partnerId": "p"}, None, algorithm="none"),
        mint_token(SECRET, {"sub": "a"}),
        "garbage",
    ],
    ids=["expired", "wrongly-signed", "unsigned", "no-partner-or-publisher", "garbage"],
)
def test_bad_tokens_are_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized):
        decode_principal(token, SECRET)
