"""The image's HEALTHCHECK (shared.http.healthcheck) probes the port of whichever process
the container runs, read as that process's own settings read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.billing.settings import BillingSettings
from services.dashboard.settings import DashboardSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import ProvisioningSettings
from shared.http.healthcheck import (
    DEFAULT_PORT,
    SERVICE_PORTS,
    first_process_command,
    running_service,
    service_port,
)
from shared.settings import ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "ordering": OrderingSettings,
    "provisioning": ProvisioningSettings,
    "billing": BillingSettings,
    "dashboard": DashboardSettings,
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith(("CSP_", "KAFKA_", "MONGODB_")):
            monkeypatch.delenv(key)
    return monkeypatch


def command(name: str) -> list[str]:
    return ["python", "-m", f"services.{name}"]


def test_it_knows_every_process_the_image_runs() -> None:
    assert set(SERVICE_PORTS) == set(SETTINGS)
    assert SERVICE_PORTS["ordering"] == DEFAULT_PORT  # the image's CMD


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_default_port_is_the_settings_default(name: str, clean_env: pytest.MonkeyPatch) -> None:
    settings = SETTINGS[name]()
    assert service_port({}, command(name)) == settings.port == SERVICE_PORTS[name]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_port_is_read_from_the_variable_the_settings_read(
    name: str, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv(f"CSP_{name.upper()}_PORT", "9123")
    settings = SETTINGS[name]()
    assert settings.port == 9123
    assert service_port(dict(os.environ), command(name)) == 9123
    # the lower-case spelling the settings also accept
    assert service_port({f"csp_{name}_port": "9124"}, command(name)) == 9124


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_running_process_decides_whatever_else_is_set(name: str) -> None:
    every = {f"CSP_{other.upper()}_PORT": str(9000 + i) for i, other in enumerate(SETTINGS)}
    assert service_port(every, command(name)) == int(every[f"CSP_{name.upper()}_PORT"])
    # behind an init (compose `init: true`): docker-init -- python -m services.<name>
    assert service_port({}, ["/sbin/docker-init", "--", *command(name)]) == SERVICE_PORTS[name]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_without_a_command_the_one_port_variable_set_decides(name: str) -> None:
    assert service_port({f"CSP_{name.upper()}_PORT": "9200"}) == 9200


def test_without_a_command_nor_a_variable_it_is_the_image_default() -> None:
    assert service_port({}) == DEFAULT_PORT
    assert service_port({}, ["/lib/systemd/systemd"]) == DEFAULT_PORT
    assert service_port({"CSP_ORDERING_PORT": ""}) == DEFAULT_PORT  # empty is unset


def test_two_port_variables_and_no_command_is_ambiguous() -> None:
    assert service_port({"CSP_BILLING_PORT": "8003", "CSP_DASHBOARD_PORT": "8000"}) is None


def test_running_service_reads_only_services_modules() -> None:
    assert running_service(["python", "-m", "services.billing.__main__"]) == "billing"
    assert running_service(["python", "-m", "services.launcher"]) is None
    assert running_service(["python", "-m", "tools.replay_outbox"]) is None
    assert running_service(["python", "-m"]) is None
    assert running_service([]) is None


def test_the_first_process_command_is_read_from_proc(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"python\0-m\0services.dashboard\0")
    assert first_process_command(cmdline) == command("dashboard")
    assert first_process_command(tmp_path / "missing") == []
