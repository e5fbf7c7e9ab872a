"""What `make run` prints: URLs, the dev secret and tokens that really work."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import jwt
import pytest

from services.launcher import SystemSettings, banner
from shared.http.auth import DEV_TOKEN_TTL, PartnerUser, PublisherClient, decode_principal
from shared.settings import DEV_JWT_SECRET


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented defaults, whatever the environment the tests run in."""
    for name in list(os.environ):
        if name.startswith("CSP_"):
            monkeypatch.delenv(name)


def test_the_banner_gives_urls_the_dev_secret_and_working_tokens() -> None:
    text = banner(SystemSettings.load(), "127.0.0.1:9092", embedded=True)

    for url in (
        "http://127.0.0.1:8001/v1",
        "http://127.0.0.1:8002/api",
        "http://127.0.0.1:8003/v1",
    ):
        assert url in text
    assert DEV_JWT_SECRET in text
    tokens = dict(re.findall(r"export (\w+)=(\S+)", text))
    partner = decode_principal(tokens.pop("PARTNER_TOKEN"), DEV_JWT_SECRET)
    assert isinstance(partner, PartnerUser) and partner.can_write
    publishers = {decode_principal(t, DEV_JWT_SECRET) for t in tokens.values()}
    assert {p.publisher_id for p in publishers if isinstance(p, PublisherClient)} == {
        "contoso",
        "fabrikam",
    }


def test_each_url_uses_the_port_its_service_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSP_ORDERING_PORT", "9001")
    monkeypatch.setenv("CSP_PROVISIONING_PORT", "9002")
    monkeypatch.setenv("CSP_BILLING_PORT", "9003")
    text = banner(SystemSettings.load(), "127.0.0.1:9092", embedded=True)
    for url in ("127.0.0.1:9001/v1", "127.0.0.1:9002/api", "127.0.0.1:9003/v1"):
        assert url in text


def test_a_custom_secret_is_never_printed() -> None:
    secret = "a-custom-secret-that-is-long-enough-for-hs256"
    text = banner(SystemSettings.of(csp_jwt_secret=secret), "kafka:9092", embedded=False)
    assert secret not in text
    assert "embedded" not in text
    tokens = dict(re.findall(r"export (\w+)=(\S+)", text))
    assert isinstance(decode_principal(tokens["PARTNER_TOKEN"], secret), PartnerUser)


def test_the_dev_tokens_expire_after_thirty_days() -> None:
    """Long enough for a working month, but finite: each carries iat and exp."""
    text = banner(SystemSettings.load(), "127.0.0.1:9092", embedded=True)
    assert f"valid {DEV_TOKEN_TTL.days} days" in text
    for token in dict(re.findall(r"export (\w+)=(\S+)", text)).values():
        claims = jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"])
        assert claims["exp"] - claims["iat"] == timedelta(days=30).total_seconds()


def test_with_an_oidc_issuer_no_hs256_token_or_secret_is_printed() -> None:
    """Its tokens come from the issuer; an HS256 one would be refused."""
    issuer = {
        "csp_jwks_url": "https://login.example/keys",
        "csp_jwt_issuer": "https://login.example/",
        "csp_jwt_audience": "api://csp",
    }
    text = banner(SystemSettings.of(**issuer), "kafka:9092", embedded=False)
    assert "export" not in text
    assert DEV_JWT_SECRET not in text
    assert "RS256 from https://login.example/" in text
