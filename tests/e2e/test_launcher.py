"""`make run`'s launcher: uses an external Kafka when told to, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.messaging.embedded_broker import free_port
from shared.store.broker_starts import broker_starts
from tests.e2e.conftest import REPO, launch_system
from tests.support.broker import running_broker

pytestmark = pytest.mark.e2e


def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_with_kafka_bootstrap_servers_set_it_starts_no_broker_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    with running_broker() as bootstrap:
        with launch_system(tmp_path, KAFKA_BOOTSTRAP_SERVERS=bootstrap) as (system, launcher):
            assert httpx.get(f"{system.ordering}/healthz").json() == {"status": "ok"}
            assert httpx.get(f"{system.ordering}/readyz").json()["status"] == "ready"
            launcher.send_signal(signal.SIGINT)
            assert launcher.wait(timeout=30) == 0  # a clean stop

        log = system.log.read_text()
        assert bootstrap in log  # the banner names the given Kafka ...
        assert "embedded" not in log
        assert "broker started" not in log  # ... and honcho started no broker process
        assert "ordering started" in log
        for name in ("ordering", "provisioning", "billing"):  # each stopped by itself, 0
            assert f"{name} stopped (rc=0)" in log
        assert log.count('"event": "service_stopped"') == 3
        assert log.count('"clean": true') == 3  # the broker stayed up: all flushed
        for url in (system.ordering, system.provisioning, system.billing):
            assert not listening(url), f"{url} still listening after Ctrl-C"


def test_a_process_that_cannot_start_stops_everything_with_a_failure_code(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the broker's port is in use: Tansu cannot start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
        env.update(
            CSP_BROKER_PORT=str(port),
            CSP_DATA_DIR=str(tmp_path / "data"),
            CSP_ORDERING_PORT=str(free_port()),
            CSP_PROVISIONING_PORT=str(free_port()),
            CSP_BILLING_PORT=str(free_port()),
        )
        launcher = subprocess.run(
            [sys.executable, "-m", "services.launcher"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert launcher.returncode != 0
    assert "everything was stopped" in launcher.stderr


def test_with_the_embedded_broker_it_records_the_brokers_start_for_a_replay(
    tmp_path: Path,
) -> None:
    """`python -m tools.replay_outbox --since-broker-start` reads this line."""
    with launch_system(tmp_path) as (system, _):
        [start] = broker_starts(tmp_path / "data")
        assert start.bootstrap.startswith("127.0.0.1:")
        assert httpx.get(f"{system.ordering}/readyz", timeout=5).status_code == 200
