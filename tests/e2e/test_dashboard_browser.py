"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, never a
downloaded one): after a purchase and an activation through the APIs, its funnel counts
them and the subscription's timeline page shows its events in the order they happened.
Screenshots go to the test's tmp_path (dashboard.png, timeline.png, signed-in.png).

And in production: the dashboard asks the browser for the operator credential, and
with it the page works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.messaging.embedded_broker import free_port
from tests.e2e.actors import Partner, Publisher
from tests.e2e.conftest import REPO, System, launch_system
from tests.e2e.processes import Actors, buy_and_activate, charges, until

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FLOW = [
    "SubscriptionPurchased",
    "ActivationLinkIssued",
    "LicensesAssigned",
    "ActivationCompleted",
    "ChargePosted",
]
STAGES = ["purchased", "linkIssued", "licensed", "activated", "charged"]
TOKEN = "an-operator-credential-for-the-browser-test"
WAIT_MS = 30_000

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (Debian package chromium); no browser is downloaded",
)


@asynccontextmanager
async def chromium(**context: Any) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield await browser.new_context(viewport={"width": 1400, "height": 1000}, **context)
        finally:
            await browser.close()


async def bought_and_charged(system: System) -> str:
    """One purchase, activated by the publisher, charged by billing: its subscription id."""
    partner = Partner(system.ordering, system.billing, system.partner_token())
    publisher = Publisher(system.provisioning, system.publisher_token("contoso"))
    actors = Actors(partner, partner, publisher)
    try:
        cid, sid = await buy_and_activate(actors)
        await until(lambda: charges(actors, cid, sid), f"the first charge of {sid}")
    finally:
        await partner.close()
        await publisher.close()
    return sid


async def read_by_dashboard(dashboard: str, sid: str) -> list[dict[str, Any]]:
    """The subscription's timeline, once the dashboard has read all of its flow."""

    async def whole() -> list[dict[str, Any]] | None:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"{dashboard}/api/subscriptions/{sid}/timeline")
        if answer.status_code != 200:
            return None
        events: list[dict[str, Any]] = answer.json()["events"]
        return events if set(FLOW) <= {e["type"] for e in events} else None

    return await until(whole, f"the dashboard reading the events of {sid}")


@needs_chromium
async def test_the_funnel_counts_a_purchase_to_its_charge_and_the_timeline_shows_it_in_order(
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    with launch_system(tmp_path) as (system, _):
        sid = await bought_and_charged(system)
        events = await read_by_dashboard(system.dashboard, sid)
        kinds = [e["type"] for e in events]
        assert [k for k in kinds if k in FLOW] == FLOW  # the API's order is the flow's
        occurred = [e["occurredAt"] for e in events]
        assert occurred == sorted(occurred)

        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(f"{system.dashboard}/")
            for stage in STAGES:  # the only subscription of this system, at every stage
                await expect(page.get_by_test_id(f"funnel-{stage}")).to_have_text(
                    "1", timeout=WAIT_MS
                )
            await expect(page.locator("#feed-status")).to_have_text("live", timeout=WAIT_MS)
            await expect(page.locator("#stuck-count")).to_have_text("0")
            topics = page.locator("#topics tbody tr")
            await expect(topics.filter(has_text="billing.ledger").first).to_be_visible()
            await page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

            # From the search box to the subscription's page.
            await page.fill("#search-id", sid)
            await page.click("#search button")
            await page.wait_for_url(f"**/subscriptions/{sid}")
            items = page.locator("#timeline li.event")
            await expect(items).to_have_count(len(events), timeout=WAIT_MS)
            shown = await items.evaluate_all("items => items.map(item => item.dataset.type)")
            assert shown == kinds
            whens = await page.locator("#timeline .when").all_inner_texts()
            assert whens == sorted(whens) and len(whens) == len(events)
            await expect(page.locator("#timeline-title")).to_contain_text(sid)
            # the latest state each side published on the compacted state topic
            partner_state = page.locator('#state [data-part="partner"]')
            await expect(partner_state).to_contain_text('"status": "active"', timeout=WAIT_MS)
            await page.screenshot(path=tmp_path / "timeline.png", full_page=True)
    print(f"screenshots: {tmp_path / 'dashboard.png'}, {tmp_path / 'timeline.png'}")


@needs_chromium
async def test_in_production_the_browser_is_asked_for_the_operator_credential(
    tmp_path: Path,
) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import expect

    with production_dashboard(tmp_path) as url:
        async with chromium() as anonymous:
            # Headless Chromium has nobody to type the credential: the navigation fails
            # after the challenge, which is what we check.
            page = await anonymous.new_page()
            async with page.expect_response(f"{url}/") as challenge:
                with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                    await page.goto(f"{url}/")
            answer = await challenge.value
            assert answer.status == 401
            assert (await answer.header_value("www-authenticate") or "").startswith("Basic")

        async with chromium(http_credentials={"username": "operator", "password": TOKEN}) as signed:
            page = await signed.new_page()
            answer = await page.goto(f"{url}/")
            assert answer is not None and answer.status == 200
            # the page's own requests (the API, the live stream) pass with the credential
            await expect(page.locator("#feed-status")).to_have_text(
                "broker unreachable", timeout=WAIT_MS
            )
            await expect(page.get_by_test_id("funnel-purchased")).to_have_text("0")
            await page.screenshot(path=tmp_path / "signed-in.png", full_page=True)


@contextmanager
def production_dashboard(workdir: Path) -> Iterator[str]:
    """`python -m services.dashboard` in production with a credential and no broker (it
    serves anyway, and says so); its URL. SIGTERM then, and it must exit 0."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "KAFKA_"))}
    env.update(
        CSP_ENV="production",
        CSP_DASHBOARD_TOKEN=TOKEN,
        CSP_DASHBOARD_PORT=str(port),
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",  # nobody there
    )
    log = workdir / "dashboard.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.dashboard"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the dashboard did not serve within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log.read_text()[-3000:]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
