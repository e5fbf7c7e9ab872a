"""The dashboard runs with the others: `make run` starts it on its port and prints its
URL; docker-compose runs it from the shared image with its credential required."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from services.dashboard.groups import service_groups
from services.dashboard.settings import DashboardSettings
from services.launcher import SystemSettings, banner
from shared.http.healthcheck import service_port

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CSP_"):
            monkeypatch.delenv(name)


def test_the_launcher_runs_the_dashboard_on_port_8000_and_prints_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = SystemSettings.load()
    assert [p.SERVICE for p in settings.processes] == [
        "ordering",
        "provisioning",
        "billing",
        "dashboard",
    ]
    assert "http://127.0.0.1:8000/" in banner(settings, "127.0.0.1:9092", embedded=True)
    monkeypatch.setenv("CSP_DASHBOARD_PORT", "9100")
    assert "http://127.0.0.1:9100/" in banner(SystemSettings.load(), "k:9092", embedded=False)


def test_the_launcher_stops_first_on_a_dashboard_production_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "CSP_ENV": "production",
        "CSP_JWKS_URL": "https://login.example/keys",
        "CSP_JWT_ISSUER": "https://login.example/",
        "CSP_JWT_AUDIENCE": "csp",
        "CSP_CATALOG": str(REPO / "shared/catalog/default.json"),
        "CSP_PURCHASE_TOKEN_SECRET": "p" * 40,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match="CSP_DASHBOARD_TOKEN is unset"):
        SystemSettings.load()


def test_lag_is_shown_for_every_services_consumer_group() -> None:
    assert service_groups() == {
        "ordering.subscription-view": "provisioning.subscriptions",
        "provisioning.purchases": "ordering.subscriptions",
        "billing.activations": "provisioning.subscriptions",
    }


def test_compose_runs_the_dashboard_from_the_shared_image_with_its_credential_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    dashboard = services["dashboard"]
    assert dashboard["build"] == "."
    assert dashboard["command"] == ["python", "-m", "services.dashboard"]
    env = dashboard["environment"]
    assert env["CSP_ENV"] == "production"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["CSP_DASHBOARD_TOKEN"].startswith("${CSP_DASHBOARD_TOKEN:?")
    assert dashboard["ports"] == ["8000:8000"]
    assert dashboard["depends_on"] == {
        "kafka-topics": {"condition": "service_completed_successfully"}
    }
    # The image's own probe, which finds the dashboard's port from its command and env.
    assert dashboard["healthcheck"]["test"] == ["CMD", "python", "-m", "shared.http.healthcheck"]
    assert service_port(env, dashboard["command"]) == 8000
    # that environment passes the dashboard's own production checks
    for name, value in env.items():
        monkeypatch.setenv(name, "t" * 40 if name == "CSP_DASHBOARD_TOKEN" else str(value))
    assert DashboardSettings.load().port == 8000
