"""Start a real Tansu broker process on a free loopback port for a test module."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from shared.messaging.embedded_broker import broker_command, free_port, wait_for_port


@contextmanager
def running_broker() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        broker_command("127.0.0.1", port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
