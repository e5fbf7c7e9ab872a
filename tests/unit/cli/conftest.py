"""The CLI against scripted services (one server each, for the whole session), run in
process with typer's CliRunner."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from csp_cli.main import app
from shared.messaging.embedded_broker import free_port
from tests.unit.cli.scripted_api import ScriptedApi, scripted

TOKEN = "partner-token"
Csp = Callable[..., Result]


@pytest.fixture(scope="session")
def ordering() -> Iterator[ScriptedApi]:
    with scripted("ordering-stub") as api:
        yield api


@pytest.fixture(scope="session")
def billing() -> Iterator[ScriptedApi]:
    with scripted("billing-stub") as api:
        yield api


@pytest.fixture(scope="session")
def dashboard() -> Iterator[ScriptedApi]:
    with scripted("dashboard-stub") as api:
        yield api


@pytest.fixture(autouse=True)
def fresh_scripts(
    ordering: ScriptedApi, billing: ScriptedApi, dashboard: ScriptedApi
) -> Iterator[None]:
    yield
    for api in (ordering, billing, dashboard):
        api.reset()


@pytest.fixture
def nothing_listens() -> str:
    """A URL where no server runs."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def csp(ordering: ScriptedApi, billing: ScriptedApi, dashboard: ScriptedApi) -> Csp:
    """Run `csp ARGS` with the scripted services and a token in the environment; the
    caller's own environment (a real token, real URLs) does not leak in."""

    def run(*args: str, env: dict[str, str | None] | None = None, input: str | None = None):
        environment: dict[str, str | None] = {
            "CSP_TOKEN": TOKEN,
            "PARTNER_TOKEN": None,
            "CSP_ORDERING_URL": ordering.url,
            "CSP_BILLING_URL": billing.url,
            "CSP_DASHBOARD_URL": dashboard.url,
            "CSP_DASHBOARD_TOKEN": None,
            "CSP_HTTP_TIMEOUT": None,
            "KAFKA_BOOTSTRAP_SERVERS": None,
            "COLUMNS": None,
        }
        environment.update(env or {})
        return CliRunner().invoke(app, list(args), env=environment, input=input)

    return run
