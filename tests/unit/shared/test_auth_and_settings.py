"""Tokens become principals; production refuses the dev defaults."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from shared.http.auth import PartnerUser, PublisherClient, decode_principal, mint_token
from shared.http.errors import ApiError, field_path
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
