"""Tokens become principals; production refuses the dev defaults."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared.http.auth import PartnerUser, PublisherClient, decode_principal, mint_token
from shared.http.errors import ApiError, field_path, install_error_handlers
from shared.settings import DEV_JWT_SECRET, InsecureConfiguration, Settings

SECRET = "unit-test-secret-of-at-least-32-bytes"


def test_partner_and_publisher_tokens_become_principals() -> None:
    partner = decode_principal(
        mint_token(SECRET, {"sub": "alice", "partnerId": "p1", "roles": ["SalesAgent"]}), SECRET
    )
    publisher = decode_principal(
        mint_token(SECRET, {"sub": "app", "publisherId": "contoso"}), SECRET
    )
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
def test_bad_tokens_are_401(token: str) -> None:
    with pytest.raises(ApiError) as error:
        decode_principal(token, SECRET)
    assert error.value.status == 401


def test_field_paths_name_the_offending_field() -> None:
    assert field_path(("body", "lineItems", 0, "quantity")) == "lineItems[0].quantity"
    assert field_path(("query", "status")) == "status"


def test_production_refuses_dev_secrets_and_the_test_clock() -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_JWT_SECRET"):
        Settings(csp_env="production", csp_jwt_secret=DEV_JWT_SECRET)
    with pytest.raises(InsecureConfiguration, match="CSP_TEST_CLOCK"):
        Settings(
            csp_env="production",
            csp_jwt_secret="j" * 32,
            csp_purchase_token_secret="p" * 32,
            csp_catalog="catalog.json",
            csp_test_clock=True,
        )
    ok = Settings(
        csp_env="production",
        csp_jwt_secret="j" * 32,
        csp_purchase_token_secret="p" * 32,
        csp_catalog="catalog.json",
    )
    assert ok.is_production


def test_production_refuses_short_secrets() -> None:
    with pytest.raises(InsecureConfiguration, match="at least 32 bytes"):
        Settings(
            csp_env="production",
            csp_jwt_secret="short",
            csp_purchase_token_secret="p" * 32,
            csp_catalog="catalog.json",
        )


class NewCustomer(BaseModel):
    companyName: str  # noqa: N815 - the wire name


def customers_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/customers")
    async def create(customer: NewCustomer) -> dict[str, str]:
        return {"companyName": customer.companyName}

    return app


@pytest.mark.parametrize(
    ("body", "target", "says"),
    [
        (b"{bad", "body", "not valid JSON"),
        (b"", "body", "Field required"),
        (b"[]", "body", "valid dictionary"),
        (b'{"companyName": 5}', "companyName", "valid string"),
    ],
)
async def test_malformed_bodies_are_400s_naming_the_body_or_field(
    body: bytes, target: str, says: str
) -> None:
    transport = httpx.ASGITransport(app=customers_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post(
            "/customers", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["target"] == target
    assert says in answer.json()["error"]["message"]
