"""docker-compose.yml stays a production deployment: real Kafka, secrets required."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.settings import DEV_JWT_SECRET, DEV_PURCHASE_TOKEN_SECRET

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_kafka_and_each_service_in_production_mode() -> None:
    services = compose()["services"]
    assert {"kafka", "ordering", "provisioning", "billing"} <= set(services)
    for name in ("ordering", "provisioning", "billing"):
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        env = service["environment"]
        assert env["CSP_ENV"] == "production"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        # compose refuses to start without real secrets instead of falling back
        assert env["CSP_JWT_SECRET"].startswith("${CSP_JWT_SECRET:?")
        assert env["CSP_PURCHASE_TOKEN_SECRET"].startswith("${CSP_PURCHASE_TOKEN_SECRET:?")


def test_no_dev_secret_is_baked_into_the_deployment_files() -> None:
    for name in ("docker-compose.yml", "Dockerfile"):
        text = (REPO / name).read_text()
        assert DEV_JWT_SECRET not in text
        assert DEV_PURCHASE_TOKEN_SECRET not in text
