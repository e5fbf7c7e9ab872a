"""Start the whole system the way `make run` does, as separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.catalog import load_catalog
from shared.catalog.model import Catalog
from shared.http.auth import mint_token
from shared.messaging.embedded_broker import free_port
from shared.settings import DEV_JWT_SECRET
from tests.e2e.actors import Partner, Publisher
from tests.support.webhook_server import PublisherWebhooks

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class System:
    ordering: str
    provisioning: str
    billing: str
    dashboard: str
    bootstrap: str  # the embedded broker the launcher started
    secret: str
    log: Path

    def partner_token(self, partner_id: str = "e2e-partner", role: str = "GlobalAdmin") -> str:
        return mint_token(
            self.secret, {"sub": f"{partner_id}-user", "partnerId": partner_id, "roles": [role]}
        )

    def publisher_token(self, publisher_id: str) -> str:
        return mint_token(self.secret, {"sub": f"{publisher_id}-app", "publisherId": publisher_id})


def wait_ready(
    urls: list[str], launcher: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    """Until every service's /readyz is 200: consuming (HTTP answers well before)."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if launcher.poll() is not None:
            raise RuntimeError(f"launcher exited early:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout}s: {pending}\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{pending[0]}/readyz", timeout=1).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


@contextmanager
def launch_system(
    workdir: Path, **extra_env: str
) -> Iterator[tuple[System, subprocess.Popen[bytes]]]:
    """Run `python -m services.launcher` (what `make run` runs) on free ports."""
    names = ("broker", "ordering", "provisioning", "billing", "dashboard")
    ports = {name: free_port() for name in names}
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(
        CSP_BROKER_PORT=str(ports["broker"]),
        CSP_ORDERING_PORT=str(ports["ordering"]),
        CSP_PROVISIONING_PORT=str(ports["provisioning"]),
        CSP_BILLING_PORT=str(ports["billing"]),
        CSP_DASHBOARD_PORT=str(ports["dashboard"]),
        CSP_DATA_DIR=str(workdir / "data"),
        CSP_JWT_SECRET=DEV_JWT_SECRET,
        **extra_env,
    )
    log = workdir / "launcher.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "services.launcher"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    system = System(
        ordering=f"http://127.0.0.1:{ports['ordering']}",
        provisioning=f"http://127.0.0.1:{ports['provisioning']}",
        billing=f"http://127.0.0.1:{ports['billing']}",
        dashboard=f"http://127.0.0.1:{ports['dashboard']}",
        bootstrap=f"127.0.0.1:{ports['broker']}",
        secret=DEV_JWT_SECRET,
        log=log,
    )
    try:
        wait_ready([system.ordering, system.provisioning, system.billing], launcher, log)
        yield system, launcher
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                launcher.kill()


# Long enough that a slow machine never lets silence accept a change a test answers.
ACCEPTANCE_TIMEOUT = "PT60S"


def catalog_with_webhooks(catalog: Catalog, webhook_url: str, path: Path) -> Path:
    """The shipped catalog with every publisher's webhook pointed at `webhook_url`
    and the publisher given ACCEPTANCE_TIMEOUT to answer a seat change."""
    document = catalog.model_dump(mode="json", by_alias=True)
    for publisher in document["publishers"]:
        publisher["webhookUrl"] = webhook_url
    for offer in document["offers"]:
        offer["acceptanceTimeout"] = ACCEPTANCE_TIMEOUT
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture(scope="session")
def webhooks() -> Iterator[PublisherWebhooks]:
    secrets = {p.id: p.webhook_secret for p in load_catalog().publishers}
    with PublisherWebhooks(secrets).running() as server:
        yield server


@pytest.fixture(scope="session")
def system(
    tmp_path_factory: pytest.TempPathFactory, webhooks: PublisherWebhooks
) -> Iterator[System]:
    workdir = tmp_path_factory.mktemp("system")
    catalog = catalog_with_webhooks(load_catalog(), webhooks.url, workdir / "catalog.json")
    with launch_system(workdir, CSP_TEST_CLOCK="true", CSP_CATALOG=str(catalog)) as (running, _):
        yield running


@pytest.fixture(scope="session")
def publishers() -> list[str]:
    return [p.id for p in load_catalog().publishers]


@pytest.fixture
async def partner(system: System) -> AsyncIterator[Partner]:
    actor = Partner(system.ordering, system.billing, system.partner_token())
    yield actor
    await actor.close()


@pytest.fixture
async def contoso(system: System) -> AsyncIterator[Publisher]:
    actor = Publisher(system.provisioning, system.publisher_token("contoso"))
    yield actor
    await actor.close()
