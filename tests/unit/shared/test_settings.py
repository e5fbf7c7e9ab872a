"""Settings, split by service: each reads, and in production refuses, only what it uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.billing.settings import BillingSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import DEV_PURCHASE_TOKEN_SECRET, ProvisioningSettings
from shared.settings import DEV_JWT_SECRET, InsecureConfiguration, ServiceSettings

EVERY_SERVICE = [OrderingSettings, ProvisioningSettings, BillingSettings]
ISSUER = {
    "csp_jwks_url": "https://login.example/tenant/discovery/v2.0/keys",
    "csp_jwt_issuer": "https://login.example/tenant/v2.0",
    "csp_jwt_audience": "api://csp-marketplace",
}
PURCHASE_TOKENS = "p" * 32
CATALOG = Path("/etc/csp/catalog.json")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts, not the environment it runs in."""
    for name in list(os.environ):
        if name.startswith(("CSP_", "KAFKA_")):
            monkeypatch.delenv(name)


def production(cls: type[ServiceSettings], **values: object) -> ServiceSettings:
    """A production configuration that is complete for `cls`, plus `values`."""
    complete: dict[str, object] = {"csp_env": "production", **ISSUER}
    if cls is not BillingSettings:
        complete["csp_catalog"] = CATALOG
    if cls is ProvisioningSettings:
        complete["csp_purchase_token_secret"] = PURCHASE_TOKENS
    return cls(**{**complete, **values})


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_every_service_runs_in_production_with_what_it_reads_set(
    cls: type[ServiceSettings],
) -> None:
    assert production(cls).is_production


def test_billing_needs_no_purchase_token_secret_or_catalog_in_production() -> None:
    settings = BillingSettings(csp_env="production", **ISSUER)
    assert settings.is_production
    assert not hasattr(settings, "csp_purchase_token_secret")
    assert not hasattr(settings, "csp_catalog")


def test_provisioning_refuses_the_dev_purchase_token_secret_in_production() -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_PURCHASE_TOKEN_SECRET is the dev"):
        production(ProvisioningSettings, csp_purchase_token_secret=DEV_PURCHASE_TOKEN_SECRET)
    with pytest.raises(InsecureConfiguration, match="CSP_PURCHASE_TOKEN_SECRET must be"):
        production(ProvisioningSettings, csp_purchase_token_secret="short")


@pytest.mark.parametrize("cls", [OrderingSettings, ProvisioningSettings], ids=lambda c: c.SERVICE)
def test_a_service_reading_the_catalog_refuses_a_missing_one_in_production(
    cls: type[ServiceSettings],
) -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_CATALOG is unset"):
        production(cls, csp_catalog=None)


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_production_refuses_to_run_without_the_oidc_issuer(cls: type[ServiceSettings]) -> None:
    with pytest.raises(InsecureConfiguration) as refused:
        production(cls, csp_jwks_url=None, csp_jwt_issuer=None, csp_jwt_audience=None)
    assert str(refused.value) == (
        "production verifies RS256 tokens from an OIDC issuer: set CSP_JWKS_URL, "
        "CSP_JWT_ISSUER and CSP_JWT_AUDIENCE (missing: CSP_JWKS_URL, CSP_JWT_ISSUER, "
        "CSP_JWT_AUDIENCE)"
    )
    for name in ISSUER:
        with pytest.raises(InsecureConfiguration, match=f"missing: {name.upper()}\\)$"):
            production(cls, **{name: None})


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_production_with_the_issuer_needs_no_jwt_secret(cls: type[ServiceSettings]) -> None:
    """CSP_JWT_SECRET is for HS256 in development; production never reads it."""
    settings = production(cls)
    assert settings.is_production and settings.uses_jwks
    assert settings.csp_jwt_secret == DEV_JWT_SECRET  # unset, and unused


def test_production_fetches_the_keys_over_https_only() -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_JWKS_URL must be an https:// URL"):
        production(BillingSettings, csp_jwks_url="http://login.example/keys")


def test_half_an_issuer_is_refused_in_development_too() -> None:
    with pytest.raises(InsecureConfiguration, match="go together; missing: CSP_JWT_AUDIENCE$"):
        BillingSettings(**{**ISSUER, "csp_jwt_audience": None})
    with pytest.raises(InsecureConfiguration, match="CSP_JWKS_URL must be an http"):
        BillingSettings(**{**ISSUER, "csp_jwks_url": "file:///etc/keys.json"})


def test_development_may_use_a_local_issuer_over_http() -> None:
    settings = BillingSettings(**{**ISSUER, "csp_jwks_url": "http://127.0.0.1:8080/keys"})
    assert settings.uses_jwks


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_every_service_refuses_the_test_clock_in_production(cls: type[ServiceSettings]) -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_TEST_CLOCK"):
        production(cls, csp_test_clock=True)


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_development_keeps_hs256_and_every_dev_default(cls: type[ServiceSettings]) -> None:
    settings = cls(csp_test_clock=True)
    assert not settings.is_production
    assert not settings.uses_jwks
    assert settings.csp_jwt_secret == DEV_JWT_SECRET


@pytest.mark.parametrize("cls", EVERY_SERVICE, ids=lambda c: c.SERVICE)
def test_load_turns_a_refusal_into_one_line_to_exit_with(
    cls: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSP_ENV", "production")
    with pytest.raises(SystemExit) as refused:
        cls.load()
    assert str(refused.value) == (
        "configuration refused: production verifies RS256 tokens from an OIDC issuer: set "
        "CSP_JWKS_URL, CSP_JWT_ISSUER and CSP_JWT_AUDIENCE (missing: CSP_JWKS_URL, "
        "CSP_JWT_ISSUER, CSP_JWT_AUDIENCE)"
    )


def test_load_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSP_PROVISIONING_PORT", "9102")
    monkeypatch.setenv("CSP_PURCHASE_TOKEN_TTL", "PT1H")
    settings = ProvisioningSettings.load()
    assert (settings.port, settings.csp_purchase_token_ttl) == (9102, "PT1H")


def test_each_service_has_its_own_port_and_store_file(tmp_path: Path) -> None:
    ports = {cls.SERVICE: cls().port for cls in EVERY_SERVICE}
    assert ports == {"ordering": 8001, "provisioning": 8002, "billing": 8003}
    ordering = OrderingSettings(csp_data_dir=tmp_path, csp_ordering_port=9001)
    assert ordering.port == 9001
    assert ordering.store_path() == tmp_path / "ordering.sqlite3"
    assert BillingSettings(csp_data_dir=tmp_path).store_path() == tmp_path / "billing.sqlite3"
