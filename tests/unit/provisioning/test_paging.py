"""The publisher's subscription list pages with the spec's `@nextLink` and
`continuationToken` (page size: CSP_PUBLISHER_PAGE_SIZE)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.provisioning.settings import ProvisioningSettings
from tests.unit.provisioning.spec_checker import check, component
from tests.unit.provisioning.support import API, SETTINGS, Harness, publisher_headers, purchase

SUBS = "/api/saas/subscriptions"
# Beside the repository (the repo is <root>/main, the spec <root>/shared/specs); never copied in.
SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "specs" / "saasapi.v2.json"
SMALL = ProvisioningSettings(csp_jwt_secret=SETTINGS.csp_jwt_secret, csp_publisher_page_size=2)


async def harness_with(mine: int, theirs: int = 0) -> tuple[Harness, list[str]]:
    """A publisher list of `mine` contoso subscriptions (and fabrikam's `theirs`), pages of 2."""
    h = Harness(settings=SMALL)
    ids = []
    for n in range(max(mine, theirs)):
        if n < mine:
            event = purchase()
            await h.purchased(event)
            ids.append(event.subject)
        if n < theirs:
            await h.purchased(purchase(publisher_id="fabrikam", offer_id="fabrikam-backup"))
    return h, ids


async def walk(h: Harness, url: str, publisher: str = "contoso") -> list[dict[str, Any]]:
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = await h.client.get(next_url, headers=publisher_headers(publisher))
        assert response.status_code == 200, response.text
        pages.append(response.json())
        next_url = response.json().get("@nextLink")
        if next_url is not None:
            parsed = httpx.URL(next_url)
            assert parsed.is_absolute_url and parsed.params["api-version"] == "2018-08-31"
            assert parsed.params["continuationToken"]
        assert len(pages) < 50, "the walk never ends"
    return pages


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for page in pages for s in page["subscriptions"]]


@pytest.mark.parametrize("path", [f"{SUBS}/{API}", f"{SUBS}{API}"])
async def test_next_link_walks_every_subscription_once_oldest_first(path: str) -> None:
    h, mine = await harness_with(5, theirs=3)
    pages = await walk(h, path)
    assert [len(p["subscriptions"]) for p in pages] == [2, 2, 1]
    assert ids(pages) == mine
    assert "@nextLink" not in pages[-1]
    assert httpx.URL(pages[0]["@nextLink"]).path == path.split("?")[0]
    theirs = await walk(h, path, publisher="fabrikam")
    assert [len(p["subscriptions"]) for p in theirs] == [2, 1]


async def test_a_full_last_page_has_no_next_link() -> None:
    h, mine = await harness_with(4)
    pages = await walk(h, f"{SUBS}/{API}")
    assert [len(p["subscriptions"]) for p in pages] == [2, 2] and ids(pages) == mine


async def test_the_default_page_holds_a_hundred() -> None:
    assert ProvisioningSettings().csp_publisher_page_size == 100
    h = Harness()
    for _ in range(3):
        await h.purchased(purchase())
    body = (await h.client.get(f"{SUBS}/{API}", headers=publisher_headers())).json()
    assert len(body["subscriptions"]) == 3 and "@nextLink" not in body


async def test_a_subscription_bought_during_the_walk_comes_on_a_later_page() -> None:
    h, mine = await harness_with(3)
    first = (await h.client.get(f"{SUBS}/{API}", headers=publisher_headers())).json()
    late = purchase()
    await h.purchased(late)
    rest = await walk(h, first["@nextLink"])
    assert [s["id"] for s in first["subscriptions"]] + ids(rest) == [*mine, late.subject]


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoxfQ", "%ff", "A" * 400])
async def test_a_malformed_continuation_token_is_a_400_naming_it(token: str) -> None:
    h, _ = await harness_with(3)
    params = {"api-version": "2018-08-31", "continuationToken": token}
    response = await h.client.get(f"{SUBS}/", params=params, headers=publisher_headers())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["target"] == "continuationToken"
    assert "x-ms-requestid" in response.headers


async def test_another_publishers_token_is_refused() -> None:
    h, _ = await harness_with(3, theirs=3)
    first = (await h.client.get(f"{SUBS}/{API}", headers=publisher_headers())).json()
    stolen = await h.client.get(first["@nextLink"], headers=publisher_headers("fabrikam"))
    assert stolen.status_code == 400
    assert stolen.json()["error"]["target"] == "continuationToken"


async def test_the_api_version_is_still_required_on_the_next_link() -> None:
    h, _ = await harness_with(3)
    first = (await h.client.get(f"{SUBS}/{API}", headers=publisher_headers())).json()
    without = httpx.URL(first["@nextLink"]).copy_remove_param("api-version")
    response = await h.client.get(str(without), headers=publisher_headers())
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "api-version"


def test_the_page_size_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CSP_PUBLISHER_PAGE_SIZE", "7")
    assert ProvisioningSettings().csp_publisher_page_size == 7
    monkeypatch.setenv("CSP_PUBLISHER_PAGE_SIZE", "0")
    with pytest.raises(ValueError):
        ProvisioningSettings()


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(reason=f"SaaS Fulfillment API spec not found at {SPEC_PATH}")
    return dict(json.loads(SPEC_PATH.read_text()))


async def test_a_page_with_a_next_link_matches_the_spec_and_the_parameter_is_served(
    spec: dict[str, Any],
) -> None:
    h, _ = await harness_with(3)
    body = (await h.client.get(f"{SUBS}/{API}", headers=publisher_headers())).json()
    assert "@nextLink" in body
    assert check(spec, component(spec, "SubscriptionsResponse"), body) == []
    served = h.app.openapi()["paths"][f"{SUBS}/"]["get"]["parameters"]
    declared = spec["paths"]["/saas/subscriptions/"]["get"]["parameters"]
    wanted = {p["name"] for p in declared if p["in"] == "query"}
    assert wanted <= {p["name"] for p in served if p["in"] == "query"}
