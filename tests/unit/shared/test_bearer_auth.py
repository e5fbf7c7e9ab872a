"""Bearer JWTs become principals through FastAPI's HTTPBearer: declared in every OpenAPI
document, 401 without a valid token (naming why), 403 for the wrong kind of caller or
role. Here the HS256 tokens of development and tests; RS256 from an issuer's JWKS is in
test_jwks_auth.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from services.billing.settings import BillingSettings
from shared.errors import Unauthorized
from shared.http.auth import (
    CLOCK_SKEW_LEEWAY,
    Authenticator,
    JwksVerifier,
    PartnerUser,
    PublisherClient,
    SharedSecretVerifier,
    decode_principal,
    mint_token,
    verifier_for,
)
from tests.support.auth_app import app_with

SECRET = "unit-test-secret-of-at-least-32-bytes"
READER = mint_token(SECRET, {"sub": "alice", "partnerId": "p1", "roles": ["SalesAgent"]})
WRITER = mint_token(SECRET, {"sub": "bob", "partnerId": "p1", "roles": ["GlobalAdmin"]})
NO_ROLE = mint_token(SECRET, {"sub": "carol", "partnerId": "p1", "roles": ["Guest"]})
PUBLISHER = mint_token(SECRET, {"sub": "app", "publisherId": "contoso"})


def service_app() -> FastAPI:
    return app_with(Authenticator(SECRET))


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
        mint_token(SECRET, {"sub": "a", "partnerId": "p"}, ttl=timedelta(minutes=-5)),
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


def token(**claims: Any) -> str:
    """An HS256 partner token issued now for an hour; a claim given as None is left out,
    one given as a timedelta is that far from now (when the test runs, not when collected)."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "alice",
        "partnerId": "p1",
        "roles": ["GlobalAdmin"],
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    merged = {**base, **claims}
    payload = {
        name: now + value if isinstance(value, timedelta) else value
        for name, value in merged.items()
        if value is not None
    }
    return jwt.encode(payload, SECRET, "HS256")


def from_now(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def test_the_clock_skew_leeway_is_thirty_seconds() -> None:
    assert timedelta(seconds=30) == CLOCK_SKEW_LEEWAY


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": None}, "has no 'exp' claim"),
        ({"iat": None}, "has no 'iat' claim"),
        ({"sub": None}, "has no 'sub' claim"),
        ({"iat": from_now(-7200), "exp": from_now(-60)}, "has expired (exp)"),
        ({"nbf": from_now(120)}, "not valid yet (nbf)"),
        ({"iat": from_now(120)}, "not valid yet (iat)"),
        ({"publisherId": "contoso"}, "both a partnerId and a publisherId"),
    ],
    ids=[
        "missing-exp",
        "missing-iat",
        "missing-sub",
        "expired",
        "nbf-in-the-future",
        "issued-in-the-future",
        "partner-and-publisher",
    ],
)
async def test_a_refused_token_is_a_401_saying_why(claims: dict[str, Any], why: str) -> None:
    async with client(token(**claims)) as api:
        answer = await api.get("/read")

    assert answer.status_code == 401
    assert why in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": from_now(-3600), "exp": from_now(-20)},
        {"nbf": from_now(20)},
        {"iat": from_now(20)},
    ],
    ids=["expired-inside-the-leeway", "nbf-inside-the-leeway", "iat-inside-the-leeway"],
)
async def test_clocks_may_disagree_by_the_leeway(claims: dict[str, Any]) -> None:
    async with client(token(**claims)) as api:
        assert (await api.get("/read")).json() == {"user": "alice"}


def test_a_token_naming_both_identities_is_refused() -> None:
    with pytest.raises(Unauthorized, match="both a partnerId and a publisherId"):
        decode_principal(token(publisherId="contoso"), SECRET)
    with pytest.raises(Unauthorized, match="both a partnerId and a publisherId"):
        decode_principal(token(publisherId="contoso", roles=None), SECRET)


async def test_both_identities_are_a_401_on_the_publisher_route_too() -> None:
    async with client(token(publisherId="contoso")) as api:
        answer = await api.get("/publish")
    assert answer.status_code == 401


def test_minted_tokens_carry_sub_iat_and_a_finite_exp() -> None:
    claims = jwt.decode(PUBLISHER, SECRET, algorithms=["HS256"])
    assert {"sub", "iat", "exp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == int(timedelta(days=30).total_seconds())


def test_the_settings_choose_hs256_in_development_and_the_jwks_when_configured() -> None:
    assert isinstance(verifier_for(BillingSettings(csp_jwt_secret=SECRET)), SharedSecretVerifier)
    jwks = BillingSettings(
        csp_jwks_url="https://issuer.example/keys",
        csp_jwt_issuer="https://issuer.example/",
        csp_jwt_audience="csp-marketplace",
    )
    assert isinstance(verifier_for(jwks), JwksVerifier)
