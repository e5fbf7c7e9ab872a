"""Real Tansu broker processes on loopback ports for tests, and stopping a process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill what does not end within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def broker_on(port: int) -> Iterator[str]:
    """A real broker process listening on `port` (a service may already be waiting for it)."""
    process = subprocess.Popen(
        broker_command("127.0.0.1", port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


@contextmanager
def running_broker() -> Iterator[str]:
    """A real broker process on a free port."""
    with broker_on(free_port()) as bootstrap:
        yield bootstrap
