"""Where the services are and who is calling: the global options (or their environment
variables), and a client per service made from them when a command needs one."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from csp_cli.client import ApiClient
from csp_cli.failures import UsageFailure

# `make run`'s defaults (services/launcher.py banner, each service's settings).
ORDERING_URL = "http://127.0.0.1:8001"
BILLING_URL = "http://127.0.0.1:8003"
DASHBOARD_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 10.0
# The timeline is an extra of `show`: a dashboard that does not answer soon is reported
# as unavailable rather than holding the subscription back.
DASHBOARD_TIMEOUT_S = 3.0


@dataclass
class Connection:
    token: str | None
    ordering_url: str
    billing_url: str
    dashboard_url: str
    dashboard_token: str | None
    timeout: float
    _clients: list[ApiClient] = field(default_factory=list)

    def ordering(self) -> ApiClient:
        return self._client(
            "ordering", self.ordering_url, " (--ordering-url / CSP_ORDERING_URL)", self.timeout
        )

    def billing(self) -> ApiClient:
        return self._client(
            "billing", self.billing_url, " (--billing-url / CSP_BILLING_URL)", self.timeout
        )

    def dashboard(self, *, extra: bool = True) -> ApiClient:
        """The dashboard, with its operator credential when one is given. `extra`: what
        it adds to another answer (a timeline) is not waited for long; dead letters,
        the command's own answer, are waited for like any other API's."""
        client = ApiClient(
            "the dashboard",
            self.dashboard_url,
            self.dashboard_token,
            timeout=min(self.timeout, DASHBOARD_TIMEOUT_S) if extra else self.timeout,
            hint=" (--dashboard-url / CSP_DASHBOARD_URL)",
            credential="--dashboard-token / CSP_DASHBOARD_TOKEN",
        )
        self._clients.append(client)
        return client

    def _client(self, service: str, url: str, hint: str, timeout: float) -> ApiClient:
        if not self.token:
            raise UsageFailure(
                "no API token: pass --token or set CSP_TOKEN "
                "(`make run` prints a partner token as PARTNER_TOKEN, read too)"
            )
        client = ApiClient(service, url, self.token, timeout=timeout, hint=hint)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


def connection(ctx: typer.Context) -> Connection:
    """The connection the top-level options made (`main.options`)."""
    found = ctx.find_object(Connection)
    assert found is not None, "the csp callback makes the connection"
    return found
