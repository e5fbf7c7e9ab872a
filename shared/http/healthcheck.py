"""`python -m shared.http.healthcheck`: the container's liveness probe.

Exit 0 when the service in this container answers `GET /healthz` with 200, else 1. The
one image runs any of the three services; which one is told by the port variable the
compose file sets (CSP_ORDERING_PORT, CSP_PROVISIONING_PORT or CSP_BILLING_PORT); none
set means the image's default command, ordering on 8001.
Standard library only: it runs every few seconds and must start fast.
"""

from __future__ import annotations

import os
import sys
import urllib.request

PORT_VARIABLES = ("CSP_ORDERING_PORT", "CSP_PROVISIONING_PORT", "CSP_BILLING_PORT")
DEFAULT_PORT = 8001  # ordering: the image's CMD
TIMEOUT_SECONDS = 3.0


def service_port(environ: dict[str, str]) -> int | None:
    ports = [environ[name] for name in PORT_VARIABLES if environ.get(name)]
    if not ports:
        return DEFAULT_PORT
    return int(ports[0]) if len(ports) == 1 else None


def live(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT_SECONDS
        ) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def main() -> int:
    port = service_port(dict(os.environ))
    if port is None:
        print("set at most one of " + ", ".join(PORT_VARIABLES), file=sys.stderr)
        return 1
    return 0 if live(port) else 1


if __name__ == "__main__":
    sys.exit(main())
