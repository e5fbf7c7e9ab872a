"""`python -m shared.http.healthcheck`: the container's liveness probe.

Exit 0 when the service in this container answers `GET /healthz` with 200, else 1. The
one image runs any of the three services or the dashboard. Which one: the command of the
container's first process (`python -m services.<name>`, read from /proc/1/cmdline; a
probe runs in the container's process namespace), else the one port variable set
(CSP_ORDERING_PORT, CSP_PROVISIONING_PORT, CSP_BILLING_PORT, CSP_DASHBOARD_PORT), else the
image's default command, ordering. Its port is then read as its settings read it: its
variable (any case, as pydantic-settings matches it), else its settings' default.
Standard library only: it runs every few seconds and must start fast.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

# Each process's default port: its settings' default (csp_<name>_port, checked by a test).
SERVICE_PORTS = {"ordering": 8001, "provisioning": 8002, "billing": 8003, "dashboard": 8000}
DEFAULT_SERVICE = "ordering"  # the image's CMD
DEFAULT_PORT = SERVICE_PORTS[DEFAULT_SERVICE]
PORT_VARIABLES = tuple(f"CSP_{name.upper()}_PORT" for name in SERVICE_PORTS)
FIRST_PROCESS = Path("/proc/1/cmdline")
TIMEOUT_SECONDS = 3.0


def port_variable(service: str) -> str:
    return f"CSP_{service.upper()}_PORT"


def running_service(command: Sequence[str]) -> str | None:
    """The process a command line runs (`python -m services.<name>`, also behind an init
    such as docker-init), None when it runs none of them."""
    for option, module in zip(command, command[1:], strict=False):
        if option == "-m":
            package, _, rest = module.partition(".")
            name = rest.split(".")[0]
            if package == "services" and name in SERVICE_PORTS:
                return name
    return None


def service_port(environ: Mapping[str, str], command: Sequence[str] = ()) -> int | None:
    """The port of the process `command` runs, given its environment; None when the
    command names none and more than one port variable is set (which one is meant?)."""
    env = {key.upper(): value for key, value in environ.items() if value}
    service = running_service(command)
    if service is None:
        named = [name for name in SERVICE_PORTS if port_variable(name) in env]
        if len(named) > 1:
            return None
        service = named[0] if named else DEFAULT_SERVICE
    value = env.get(port_variable(service))
    return int(value) if value else SERVICE_PORTS[service]


def first_process_command(path: Path = FIRST_PROCESS) -> list[str]:
    """The container's first process's arguments; empty where /proc cannot tell."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def live(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT_SECONDS
        ) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def main() -> int:
    try:
        port = service_port(os.environ, first_process_command())
    except ValueError as error:  # a port variable that is not a number
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    if port is None:
        print("set at most one of " + ", ".join(PORT_VARIABLES), file=sys.stderr)
        return 1
    return 0 if live(port) else 1


if __name__ == "__main__":
    sys.exit(main())
