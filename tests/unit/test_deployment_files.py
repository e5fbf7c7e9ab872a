"""docker-compose.yml stays a production deployment: real Kafka, the OIDC issuer and
secrets required, and each service's environment passes that service's own production
checks."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from services.billing.settings import BillingSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import DEV_PURCHASE_TOKEN_SECRET, ProvisioningSettings
from shared.settings import DEV_JWT_SECRET, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "ordering": OrderingSettings,
    "provisioning": ProvisioningSettings,
    "billing": BillingSettings,
}
REQUIRED = re.compile(r"^\$\{(\w+):\?.*\}$")  # ${NAME:?message}: compose refuses if unset
DEFAULTED = re.compile(r"^\$\{\w+:-(.*)\}$")  # ${NAME:-default}: the default when unset
# What an operator would export for the required variables; a real 40-byte secret else.
OPERATOR = {
    "CSP_JWKS_URL": "https://login.example/tenant/discovery/v2.0/keys",
    "CSP_JWT_ISSUER": "https://login.example/tenant/v2.0",
    "CSP_JWT_AUDIENCE": "api://csp-marketplace",
}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_kafka_and_each_service_in_production_mode() -> None:
    services = compose()["services"]
    assert {"kafka", *SETTINGS} <= set(services)
    for name in SETTINGS:
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        env = service["environment"]
        assert env["CSP_ENV"] == "production"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        # compose refuses to start without the OIDC issuer instead of falling back;
        # production never reads the HS256 secret of development
        for name in ("CSP_JWKS_URL", "CSP_JWT_ISSUER", "CSP_JWT_AUDIENCE"):
            assert env[name].startswith("${" + name + ":?")
        assert "CSP_JWT_SECRET" not in env
    provisioning = services["provisioning"]["environment"]
    assert provisioning["CSP_PURCHASE_TOKEN_SECRET"].startswith("${CSP_PURCHASE_TOKEN_SECRET:?")


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_service_environment_passes_its_own_production_checks(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        key: compose_value(key, str(value))
        for key, value in compose()["services"][name]["environment"].items()
    }
    for key in list(os.environ):
        if key.startswith(("CSP_", "KAFKA_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    settings = SETTINGS[name].load()  # a refusal would exit here

    assert settings.is_production and settings.uses_jwks
    assert settings.port == int(env[f"CSP_{name.upper()}_PORT"])


def compose_value(key: str, value: str) -> str:
    """What compose passes with nothing set but the operator's required values."""
    if REQUIRED.match(value):
        return OPERATOR.get(key, "r" * 40)
    if defaulted := DEFAULTED.match(value):
        return defaulted.group(1)
    return value


def test_no_dev_secret_is_baked_into_the_deployment_files() -> None:
    for name in ("docker-compose.yml", "Dockerfile"):
        text = (REPO / name).read_text()
        assert DEV_JWT_SECRET not in text
        assert DEV_PURCHASE_TOKEN_SECRET not in text
