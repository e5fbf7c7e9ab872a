"""`make run`: the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and the
three services as local processes under honcho; Ctrl-C stops them all.

The end-to-end tests start exactly this, with ports and data dir in the environment.
"""

from __future__ import annotations

import os
import shlex
import sys

from honcho.manager import Manager
from honcho.printer import Printer

from shared.catalog import load_catalog
from shared.http.auth import mint_token
from shared.messaging.embedded_broker import broker_command
from shared.settings import DEV_JWT_SECRET, Settings, load_settings

SERVICES = ("ordering", "provisioning", "billing")
DEV_PARTNER = {"sub": "dev-admin", "partnerId": "dev-partner", "roles": ["GlobalAdmin"]}


def child_environment(settings: Settings, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    env["CSP_DATA_DIR"] = str(settings.csp_data_dir.resolve())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def banner(settings: Settings, bootstrap: str, embedded: bool) -> str:
    host = settings.csp_host
    lines = [
        "CSP Marketplace (development)",
        f"  broker        {bootstrap}" + ("  (embedded Tansu, memory only)" if embedded else ""),
        f"  ordering      http://{host}:{settings.csp_ordering_port}/v1   (partner API, docs at /docs)",
        f"  provisioning  http://{host}:{settings.csp_provisioning_port}/api  (SaaS Fulfillment API v2)",
        f"  billing       http://{host}:{settings.csp_billing_port}/v1   (invoices)",
        f"  data dir      {settings.csp_data_dir.resolve()}",
    ]
    if settings.csp_jwt_secret == DEV_JWT_SECRET:
        lines.append(f"  dev JWT secret (HS256): {DEV_JWT_SECRET}")
    else:
        lines.append("  JWT secret: from CSP_JWT_SECRET")
    secret = settings.csp_jwt_secret
    lines += [
        "",
        "Dev tokens (valid 30 days):",
        f"  partner GlobalAdmin ({DEV_PARTNER['partnerId']}):",
        f"    export PARTNER_TOKEN={mint_token(secret, DEV_PARTNER)}",
    ]
    for publisher in load_catalog(settings.csp_catalog).publishers:
        variable = f"PUBLISHER_TOKEN_{publisher.id.upper().replace('-', '_')}"
        token = mint_token(secret, {"sub": f"{publisher.id}-app", "publisherId": publisher.id})
        lines += [f"  publisher {publisher.id}:", f"    export {variable}={token}"]
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


def main() -> int:
    settings = load_settings()
    settings.csp_data_dir.mkdir(parents=True, exist_ok=True)
    embedded = "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    broker_port = int(os.environ.get("CSP_BROKER_PORT", "9092"))
    bootstrap = f"127.0.0.1:{broker_port}" if embedded else settings.kafka_bootstrap_servers

    print(banner(settings, bootstrap, embedded), flush=True)
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    env = child_environment(settings, bootstrap)
    if embedded:
        manager.add_process("broker", shlex.join(broker_command("127.0.0.1", broker_port)), env=env)
    for service in SERVICES:
        manager.add_process(
            service, shlex.join([sys.executable, "-m", f"services.{service}"]), env=env
        )
    manager.loop()
    # Ctrl-C / SIGTERM give 130 / 143. Anything else means a process ended on its own
    # (a port in use, a crash) and honcho stopped the rest: never report that as success.
    if manager.returncode in (130, 143):
        return 0
    print("a process exited on its own; everything was stopped (see above)", file=sys.stderr)
    return manager.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
