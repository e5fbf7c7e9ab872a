"""`make run`: the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), the
three services and the dashboard as local processes under honcho; Ctrl-C stops them all.

The end-to-end tests start exactly this, with ports and data dir in the environment.
Each service's settings are read here the way its own process will read them (its
settings class), so a configuration a service would refuse stops the launcher first,
with the same one line.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from honcho.manager import Manager
from honcho.printer import Printer

from services.billing.settings import BillingSettings
from services.dashboard.settings import DashboardSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import ProvisioningSettings
from shared.catalog import load_catalog
from shared.http.auth import DEV_TOKEN_TTL, mint_token
from shared.messaging.embedded_broker import broker_command
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from shared.store.broker_starts import record_broker_start

DEV_PARTNER = {"sub": "dev-admin", "partnerId": "dev-partner", "roles": ["GlobalAdmin"]}


@dataclass(frozen=True)
class SystemSettings:
    """The three services' and the dashboard's settings, from one environment."""

    ordering: OrderingSettings
    provisioning: ProvisioningSettings
    billing: BillingSettings
    dashboard: DashboardSettings

    @classmethod
    def load(cls) -> SystemSettings:
        """As each entry point does: a refused configuration exits with one line."""
        return cls(
            OrderingSettings.load(),
            ProvisioningSettings.load(),
            BillingSettings.load(),
            DashboardSettings.load(),
        )

    @classmethod
    def of(cls, **values: Any) -> SystemSettings:
        """The environment plus these values (tests)."""
        return cls(
            OrderingSettings(**values),
            ProvisioningSettings(**values),
            BillingSettings(**values),
            DashboardSettings(**values),
        )

    @property
    def services(self) -> tuple[ServiceSettings, ...]:
        return (self.ordering, self.provisioning, self.billing)

    @property
    def processes(self) -> tuple[ServiceSettings, ...]:
        """What the launcher runs besides the broker: the services, then the dashboard."""
        return (*self.services, self.dashboard)

    @property
    def common(self) -> ServiceSettings:
        """Host, data dir, identity: every service reads them from the same variables."""
        return self.billing


def child_environment(settings: SystemSettings, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    env["CSP_DATA_DIR"] = str(settings.common.csp_data_dir.resolve())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def banner(settings: SystemSettings, bootstrap: str, embedded: bool) -> str:
    common = settings.common
    host = common.csp_host
    ordering, provisioning, billing = (s.port for s in settings.services)  # each its own
    lines = [
        "CSP Marketplace (development)",
        f"  broker        {bootstrap}" + ("  (embedded Tansu, memory only)" if embedded else ""),
        f"  ordering      http://{host}:{ordering}/v1   (partner API, docs at /docs)",
        f"  provisioning  http://{host}:{provisioning}/api  (SaaS Fulfillment API v2)",
        f"  billing       http://{host}:{billing}/v1   (invoices)",
        f"  dashboard     http://{host}:{settings.dashboard.port}/      (pipeline, live)",
        f"  data dir      {common.csp_data_dir.resolve()}",
    ]
    if common.uses_jwks:  # tokens come from the issuer: an HS256 one would be refused
        lines += [
            f"  API tokens    RS256 from {common.csp_jwt_issuer} "
            f"(audience {common.csp_jwt_audience}, keys {common.csp_jwks_url})",
            "",
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)
    if common.csp_jwt_secret == DEV_JWT_SECRET:
        lines.append(f"  dev JWT secret (HS256): {DEV_JWT_SECRET}")
    else:
        lines.append("  JWT secret: from CSP_JWT_SECRET")
    secret = common.csp_jwt_secret
    lines += [
        "",
        f"Dev tokens (valid {DEV_TOKEN_TTL.days} days):",
        f"  partner GlobalAdmin ({DEV_PARTNER['partnerId']}):",
        f"    export PARTNER_TOKEN={mint_token(secret, DEV_PARTNER)}",
    ]
    # The publishers' apps call provisioning: its catalog names them.
    for publisher in load_catalog(settings.provisioning.csp_catalog).publishers:
        variable = f"PUBLISHER_TOKEN_{publisher.id.upper().replace('-', '_')}"
        token = mint_token(secret, {"sub": f"{publisher.id}-app", "publisherId": publisher.id})
        lines += [f"  publisher {publisher.id}:", f"    export {variable}={token}"]
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


def main() -> int:
    settings = SystemSettings.load()
    settings.common.csp_data_dir.mkdir(parents=True, exist_ok=True)
    embedded = "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    broker_port = int(os.environ.get("CSP_BROKER_PORT", "9092"))
    bootstrap = f"127.0.0.1:{broker_port}" if embedded else settings.common.kafka_bootstrap_servers

    print(banner(settings, bootstrap, embedded), flush=True)
    manager = Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    env = child_environment(settings, bootstrap)
    if embedded:
        # For `python -m tools.replay_outbox --since-broker-start` after a broker restart.
        record_broker_start(settings.common.csp_data_dir, bootstrap)
        manager.add_process("broker", shlex.join(broker_command("127.0.0.1", broker_port)), env=env)
    for service in settings.processes:
        name = service.SERVICE
        # `exec`: honcho runs a command through a shell and signals its process group; the
        # service itself (not a shell killed by the same SIGTERM) then reports its exit code.
        command = "exec " + shlex.join([sys.executable, "-m", f"services.{name}"])
        manager.add_process(name, command, env=env)
    manager.loop()
    # Ctrl-C / SIGTERM give 130 / 143. Anything else means a process ended on its own
    # (a port in use, a crash) and honcho stopped the rest: never report that as success.
    if manager.returncode in (130, 143):
        return 0
    print("a process exited on its own; everything was stopped (see above)", file=sys.stderr)
    return manager.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
