"""The production-shaped deployment, checked without a Docker engine: every service's
environment points at the broker and its database, the dashboard's at the broker,
secrets are required (never defaulted), every long-running container has a healthcheck,
topics exist before any service or the dashboard starts; `docker-compose config`
validates the file where the client is installed. The container healthcheck is run
against a real service app."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.http.healthcheck import DEFAULT_PORT, live, service_port
from shared.messaging.embedded_broker import free_port
from tests.support.http_thread import serving

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("ordering", "provisioning", "billing")  # each on Kafka and its MongoDB database
DASHBOARD = "dashboard"  # on Kafka only: it reads the topics and keeps no state
APPS = (*SERVICES, DASHBOARD)  # every container that runs the image
SECRETS = (
    "CSP_JWKS_URL",
    "CSP_JWT_ISSUER",
    "CSP_JWT_AUDIENCE",
    "CSP_PURCHASE_TOKEN_SECRET",
    "CSP_DASHBOARD_TOKEN",  # the operators' credential (DashboardSettings.csp_dashboard_token)
)
# What `docker compose` reads from the environment or an .env file; dummies for `config`.
REQUIRED_ENV = {
    "CSP_JWKS_URL": "https://login.example.com/jwks.json",
    "CSP_JWT_ISSUER": "https://login.example.com/",
    "CSP_JWT_AUDIENCE": "csp-marketplace",
    "CSP_PURCHASE_TOKEN_SECRET": "x" * 32,
    "CSP_DASHBOARD_TOKEN": "d" * 32,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def test_every_service_runs_on_kafka_and_its_mongodb_in_production(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in SERVICES:
        service = services[name]
        env = service["environment"]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert env["CSP_ENV"] == "production"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["CSP_STORE"] == "mongodb"
        assert env["MONGODB_URL"].startswith("mongodb://mongodb:27017/")
        assert "replicaSet=rs0" in env["MONGODB_URL"]
        assert f"CSP_{name.upper()}_PORT" in env
        assert "CSP_JWT_SECRET" not in env  # production verifies RS256 from the issuer


def test_the_dashboard_runs_on_kafka_in_production_with_its_operator_credential(
    compose: dict[str, Any],
) -> None:
    from services.dashboard.settings import DashboardSettings

    service = compose["services"][DASHBOARD]
    env = service["environment"]
    assert service["build"] == compose["services"]["ordering"]["build"]  # the same image
    assert service["command"] == ["python", "-m", "services.dashboard"]
    assert env["CSP_ENV"] == "production"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "CSP_DASHBOARD_PORT" in env
    assert f"{env['CSP_DASHBOARD_PORT']}:{env['CSP_DASHBOARD_PORT']}" in service["ports"]
    # the variable compose requires is the one the dashboard reads its credential from
    assert "csp_dashboard_token" in DashboardSettings.model_fields
    assert env["CSP_DASHBOARD_TOKEN"].startswith("${CSP_DASHBOARD_TOKEN:?")
    assert "CSP_JWT_SECRET" not in env


def test_secrets_are_required_never_defaulted(compose: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name in APPS:
        for key, value in compose["services"][name]["environment"].items():
            if key in SECRETS:
                seen[key] = value
    assert set(seen) == set(SECRETS)
    for key, value in seen.items():
        assert value.startswith("${" + key + ":?"), f"{key} must be required: {value}"


def test_services_start_after_their_topics_and_a_healthy_mongodb_each_with_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in SERVICES:
        service = services[name]
        assert service["depends_on"] == {
            "kafka-topics": {"condition": "service_completed_successfully"},
            "mongodb": {"condition": "service_healthy"},
        }
        assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "shared.http.healthcheck"]
    for infrastructure in ("kafka", "mongodb"):
        assert services[infrastructure]["healthcheck"]["test"]
    assert services["kafka-topics"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert "--replSet" in services["mongodb"]["command"]
    assert "rs.initiate" in services["mongodb"]["healthcheck"]["test"][-1]
    assert "ports" not in services["mongodb"]  # only on the compose network


def test_the_dashboard_starts_after_the_topics_with_a_healthcheck_on_its_port(
    compose: dict[str, Any],
) -> None:
    service = compose["services"][DASHBOARD]
    # it reads the topics (kafka-topics runs only once kafka is healthy); no database
    assert service["depends_on"] == {
        "kafka-topics": {"condition": "service_completed_successfully"}
    }
    check = service["healthcheck"]
    assert check["test"]
    assert not check.get("disable", False)
    port = service["environment"]["CSP_DASHBOARD_PORT"]
    # the image's own probe (which finds the dashboard's port), or one on that port
    assert check["test"] == ["CMD", "python", "-m", "shared.http.healthcheck"] or (
        f"127.0.0.1:{port}/healthz" in " ".join(check["test"])
    )
    for key in ("interval", "timeout", "retries"):
        assert key in check


def test_every_topic_is_created_with_its_partition_count(compose: dict[str, Any]) -> None:
    script = compose["services"]["kafka-topics"]["command"][0]
    for topic in ("ordering.subscriptions", "provisioning.subscriptions", "billing.ledger"):
        assert topic in script and f"{topic}.dlq" in script
    assert "--partitions ${KAFKA_PARTITIONS:-6}" in script
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name in SERVICES:  # a topic a service creates itself gets the same count
        service_env = compose["services"][name]["environment"]
        assert service_env["CSP_TOPIC_PARTITIONS"] == "${KAFKA_PARTITIONS:-6}"


def test_the_image_runs_as_a_user_with_a_healthcheck() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "\nUSER csp\n" in dockerfile
    assert 'CMD ["python", "-m", "shared.http.healthcheck"]' in dockerfile


def test_docker_compose_config_accepts_the_file() -> None:
    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    result = subprocess.run(
        [client, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, **REQUIRED_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        [client, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
        env={k: v for k, v in os.environ.items() if k not in REQUIRED_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0  # a secret left unset stops the deployment
    assert "CSP_" in missing.stderr
    for secret in ("CSP_PURCHASE_TOKEN_SECRET", "CSP_DASHBOARD_TOKEN"):  # each on its own
        without = subprocess.run(
            [client, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
            env={**os.environ, **REQUIRED_ENV, secret: ""},  # `:?` refuses empty too
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert without.returncode != 0, f"compose started without {secret}"
        assert secret in without.stderr


def test_the_healthcheck_finds_its_service_port_from_the_environment() -> None:
    assert service_port({}) == DEFAULT_PORT
    assert service_port({"CSP_BILLING_PORT": "8003"}) == 8003
    assert service_port({"CSP_DASHBOARD_PORT": "8000"}) == 8000
    assert (
        service_port({"CSP_DASHBOARD_PORT": "8000"}, ["python", "-m", "services.dashboard"]) == 8000
    )
    assert service_port({"CSP_BILLING_PORT": "8003", "CSP_ORDERING_PORT": "8001"}) is None


def test_the_healthcheck_answers_for_a_live_service_and_not_for_a_dead_port() -> None:
    from services.billing.bootstrap import build_app
    from services.billing.settings import BillingSettings
    from shared.store.memory import MemoryStore

    app = build_app(BillingSettings(), store=MemoryStore())
    port = free_port()
    assert not live(port)
    with serving(app, port, "billing-healthcheck"):
        assert live(port)
