"""`make run`'s launcher: uses an external Kafka when told to, and Ctrl-C stops everything."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import launch_system
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
            launcher.send_signal(signal.SIGINT)
            assert launcher.wait(timeout=30) is not None

        log = system.log.read_text()
        assert bootstrap in log  # the banner names the given Kafka ...
        assert "embedded" not in log
        assert "broker started" not in log  # ... and honcho started no broker process
        assert "ordering started" in log
        for url in (system.ordering, system.provisioning, system.billing):
            assert not listening(url), f"{url} still listening after Ctrl-C"
