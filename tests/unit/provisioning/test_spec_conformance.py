"""The publisher API against specs/saasapi.v2.json: paths, methods, statuses, schemas."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.provisioning.adapters.webhooks import webhook_body
from services.provisioning.entrypoints.headers import API_PREFIX, API_VERSION
from shared.events import ordering as asks
from tests.unit.provisioning.spec_checker import check, component
from tests.unit.provisioning.support import (
    API,
    Harness,
    publisher_headers,
    purchase,
    request,
    token_of,
)

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


async def with_seat_change(h: Harness) -> tuple[str, str]:
    """An activated subscription with a seat change waiting; (its id, the change's id)."""
    sid, _ = await scenario(h, activated=True)
    change = request(asks.QuantityChangeRequested, sid, quantity=4, previous_quantity=3)
    await h.deliver(change)
    return sid, change.data.operation_id


async def test_operation_responses_validate_against_the_spec_schemas(
    spec: dict[str, Any],
) -> None:
    h = Harness()
    sid, change = await with_seat_change(h)
    suspend = request(asks.SuspensionRequested, sid)
    await h.deliver(suspend)
    headers = publisher_headers()

    listed = await h.client.get(f"{SUBS}/{sid}/operations{API}", headers=headers)
    one = await h.client.get(f"{SUBS}/{sid}/operations/{change}{API}", headers=headers)

    assert listed.status_code == 200 and len(listed.json()["operations"]) == 2
    assert check(spec, component(spec, "OperationList"), listed.json()) == []
    assert one.status_code == 200
    assert check(spec, component(spec, "SaaSOperation"), one.json()) == []
    # The webhook payload: the spec's operation (plus two fields of the contract), with
    # the subscription as the spec's Subscription.
    operation, subscription = await h.operation(change), await h.stored(sid)
    assert operation is not None and subscription is not None
    payload = json.loads(webhook_body(operation, subscription))
    assert check(spec, component(spec, "SaaSOperation"), payload, strict=False) == []
    assert set(payload) - set(component(spec, "SaaSOperation")["properties"]) == {
        "operationRequestSource",
        "subscription",
    }
    assert check(spec, component(spec, "Subscription"), payload["subscription"]) == []


def test_the_operation_answer_body_is_the_specs_update_operation(spec: dict[str, Any]) -> None:
    served = Harness().app.openapi()["components"]["schemas"]["UpdateOperation"]
    declared_fields = component(spec, "UpdateOperation")["properties"]
    assert set(served["properties"]) == set(declared_fields)
    assert served["properties"]["status"]["enum"] == declared_fields["status"]["enum"]


async def test_operation_statuses_answered_are_declared_by_the_spec(spec: dict[str, Any]) -> None:
    h = Harness()
    sid, change = await with_seat_change(h)
    mine, other = publisher_headers(), publisher_headers("fabrikam")
    many = "/saas/subscriptions/{subscriptionId}/operations"
    one = "/saas/subscriptions/{subscriptionId}/operations/{operationId}"
    url = f"{SUBS}/{sid}/operations/{change}{API}"
    calls = [
        ("get", many, f"{SUBS}/{sid}/operations{API}", mine, None, 200),
        ("get", many, f"{SUBS}/{sid}/operations{API}", other, None, 403),
        ("get", many, f"{SUBS}/{uuid.uuid4()}/operations{API}", mine, None, 404),
        ("get", one, url, mine, None, 200),
        ("get", one, url, other, None, 403),
        ("get", one, f"{SUBS}/{sid}/operations/{uuid.uuid4()}{API}", mine, None, 404),
        ("patch", one, url, mine, {"status": "Done"}, 400),
        ("patch", one, url, other, {"status": "Success"}, 403),
        (
            "patch",
            one,
            f"{SUBS}/{sid}/operations/{uuid.uuid4()}{API}",
            mine,
            {"status": "Success"},
            404,
        ),
        ("patch", one, url, mine, {"status": "Success"}, 200),
        ("patch", one, url, mine, {"status": "Success"}, 409),
    ]
    for method, template, target, headers, body, expected in calls:
        r = await h.client.request(method.upper(), target, headers=headers, json=body)
        assert r.status_code == expected, (method, target, r.text)
        assert str(r.status_code) in spec["paths"][template][method]["responses"]
        error_schema = component(spec, "FulfillmentInternalServerErrorResponse")
        assert r.status_code < 400 or check(spec, error_schema, r.json(), strict=False) == []
