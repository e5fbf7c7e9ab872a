"""The publisher API against specs/saasapi.v2.json: paths, methods, statuses, schemas."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.provisioning.entrypoints.headers import API_PREFIX, API_VERSION
from tests.unit.provisioning.spec_checker import check, component
from tests.unit.provisioning.support import API, Harness, publisher_headers, purchase, token_of

# Beside the repository (the repo is <root>/main, the spec <root>/shared/specs); never copied in.
SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "specs" / "saasapi.v2.json"
EXTENSIONS = {
    ("/saas/subscriptions/{subscriptionId}/licenses", "put")
}  # services/provisioning/README.md
SUBS = "/api/saas/subscriptions"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(reason=f"SaaS Fulfillment API spec not found at {SPEC_PATH}")
    return json.loads(SPEC_PATH.read_text())


def implemented(h: Harness) -> set[tuple[str, str]]:
    paths = h.app.openapi()["paths"]
    return {
        (path.removeprefix(API_PREFIX), method)
        for path, methods in paths.items()
        if path.startswith(API_PREFIX + "/")
        for method in methods
    }


def declared(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, methods in spec["paths"].items()
        for method in methods
        if method in {"get", "put", "post", "patch", "delete"}
    }


async def scenario(h: Harness, *, activated: bool) -> tuple[str, str]:
    """A subscription of the caller (customer id a GUID, as ordering assigns); (id, token)."""
    event = purchase(quantity=3)
    issued = await h.purchased(event)
    if activated:
        body = {"assignments": [{"userId": "u1", "email": "u1@customer.example"}]}
        await h.client.put(
            f"{SUBS}/{event.subject}/licenses{API}", headers=publisher_headers(), json=body
        )
        await h.client.post(
            f"{SUBS}/{event.subject}/activate{API}",
            headers=publisher_headers(),
            json={"planId": "standard", "quantity": 3},
        )
    return event.subject, token_of(issued.data.link)


def test_checker_reports_what_the_schemas_forbid(spec: dict[str, Any]) -> None:
    bad = {
        "id": "not-a-uuid",
        "saasSubscriptionStatus": "Active",
        "quantity": "3",
        "autoRenew": None,
        "created": "yesterday",
        "bogus": 1,
    }
    problems = check(spec, component(spec, "Subscription"), bad)
    assert len(problems) == 6, problems


def test_the_spec_serves_under_api_with_the_one_api_version(spec: dict[str, Any]) -> None:
    assert spec["servers"][0]["url"].endswith(API_PREFIX)
    assert component(spec, "ApiVersion")["enum"] == [API_VERSION]


def test_every_implemented_path_and_method_is_in_the_spec(spec: dict[str, Any]) -> None:
    ours = implemented(Harness())
    assert ours - EXTENSIONS <= declared(spec), sorted(ours - EXTENSIONS - declared(spec))
    assert not EXTENSIONS & declared(spec)  # the licenses call really is an extension


def test_every_spec_operation_is_served(spec: dict[str, Any]) -> None:
    assert declared(spec) <= implemented(Harness())


@pytest.mark.parametrize("activated", [False, True])
async def test_read_responses_validate_against_the_spec_schemas(
    spec: dict[str, Any], activated: bool
) -> None:
    h = Harness()
    sid, token = await scenario(h, activated=activated)
    headers = publisher_headers()
    answers = {
        "ResolvedSubscription": await h.client.post(
            f"{SUBS}/resolve{API}", headers={**headers, "x-ms-marketplace-token": token}
        ),
        "Subscription": await h.client.get(f"{SUBS}/{sid}{API}", headers=headers),
        "SubscriptionsResponse": await h.client.get(f"{SUBS}/{API}", headers=headers),
        "SubscriptionPlans": await h.client.get(
            f"{SUBS}/{sid}/listAvailablePlans{API}", headers=headers
        ),
        "OperationList": await h.client.get(f"{SUBS}/{sid}/operations{API}", headers=headers),
    }
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.text)
        assert check(spec, component(spec, name), answer.json()) == [], name
    term = answers["Subscription"].json()["term"]
    assert ("startDate" in term and "endDate" in term) is activated


async def test_answered_statuses_are_declared_by_the_spec(spec: dict[str, Any]) -> None:
    h = Harness()
    sid, _ = await scenario(h, activated=True)
    other = publisher_headers("fabrikam")
    one = "/saas/subscriptions/{subscriptionId}"
    calls = [
        ("post", "/saas/subscriptions/resolve", f"{SUBS}/resolve{API}", publisher_headers(), None),
        ("get", one, f"{SUBS}/{sid}{API}", other, None),
        ("get", one, f"{SUBS}/{uuid.uuid4()}{API}", publisher_headers(), None),
        ("patch", one, f"{SUBS}/{sid}{API}", publisher_headers(), {}),
        ("delete", one, f"{SUBS}/{sid}{API}", publisher_headers(), None),
        (
            "post",
            "/saas/subscriptions/{subscriptionId}/activate",
            f"{SUBS}/{sid}/activate{API}",
            publisher_headers(),
            {"planId": "standard", "quantity": 3},
        ),
        (
            "get",
            "/saas/subscriptions/{subscriptionId}/operations/{operationId}",
            f"{SUBS}/{sid}/operations/{uuid.uuid4()}{API}",
            publisher_headers(),
            None,
        ),
    ]
    for method, template, url, headers, body in calls:
        r = await h.client.request(method.upper(), url, headers=headers, json=body)
        assert str(r.status_code) in spec["paths"][template][method]["responses"], (method, url)
        error_schema = component(spec, "FulfillmentInternalServerErrorResponse")
        assert r.status_code < 400 or check(spec, error_schema, r.json(), strict=False) == []
        for header in ("x-ms-requestid", "x-ms-correlationid"):
            assert uuid.UUID(r.headers[header]), header
