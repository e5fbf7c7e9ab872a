"""Input limits of the publisher API: ids in paths are GUIDs as the spec declares them
(`format: uuid`; anything else a 400 naming the parameter, before any lookup), every
string of a request has a maximum length and every integer the spec's int64 range, and
the body limit holds here too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.counting_store import CountingStore
from tests.unit.provisioning.support import API, SUBS, Harness, publisher_headers, purchase

GUID = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"
ACTIVATE = {"planId": "standard", "quantity": 5}
LICENSES = {"assignments": [{"userId": "u1", "email": "u1@customer.example"}]}


def harness() -> Harness:
    return Harness(store=CountingStore())


def assert_names(answer: httpx.Response, status: int, target: str, says: str = "") -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["target"] == target
    assert says in error["message"]
    assert len(error["message"]) < 150  # whatever was sent is not quoted back


def calls(sid: str, op: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"{SUBS}/{sid}{API}", None),
        ("PATCH", f"{SUBS}/{sid}{API}", ACTIVATE),
        ("DELETE", f"{SUBS}/{sid}{API}", None),
        ("POST", f"{SUBS}/{sid}/activate{API}", ACTIVATE),
        ("PUT", f"{SUBS}/{sid}/licenses{API}", LICENSES),
        ("GET", f"{SUBS}/{sid}/listAvailablePlans{API}", None),
        ("GET", f"{SUBS}/{sid}/operations{API}", None),
        ("GET", f"{SUBS}/{sid}/operations/{op}{API}", None),
        ("PATCH", f"{SUBS}/{sid}/operations/{op}{API}", {"status": "Success"}),
    ]


@pytest.mark.parametrize("bad", ["7" * 5000, "nope", GUID + "0", "sub-1"])
async def test_a_subscription_id_that_is_no_guid_is_a_400_naming_it_without_a_lookup(
    bad: str,
) -> None:
    h = harness()
    for method, url, body in calls(bad, GUID):
        h.store.opened = 0  # type: ignore[attr-defined]
        answer = await h.client.request(method, url, json=body, headers=publisher_headers())
        assert_names(answer, 400, "subscriptionId", "must be a GUID")
        assert h.store.opened == 0, (method, url[:80])  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["7" * 5000, "op-1"])
async def test_an_operation_id_that_is_no_guid_is_a_400_naming_it_without_a_lookup(
    bad: str,
) -> None:
    h = harness()
    for method, url, body in calls(GUID, bad)[-2:]:
        h.store.opened = 0  # type: ignore[attr-defined]
        answer = await h.client.request(method, url, json=body, headers=publisher_headers())
        assert_names(answer, 400, "operationId", "must be a GUID")
        assert h.store.opened == 0  # type: ignore[attr-defined]


async def test_a_guid_in_capitals_names_the_same_subscription() -> None:
    h = harness()
    event = purchase()
    await h.purchased(event)
    answer = await h.client.get(f"{SUBS}/{event.subject.upper()}{API}", headers=publisher_headers())
    assert answer.status_code == 200
    assert answer.json()["id"] == event.subject


async def test_the_body_limit_holds_on_the_publisher_api() -> None:
    h = harness()
    event = purchase()
    await h.purchased(event)
    body = {"assignments": [{"userId": "u" * 20_000_000}]}
    url = f"{SUBS}/{event.subject}/licenses{API}"
    answer = await h.client.put(url, json=body, headers=publisher_headers())
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PayloadTooLarge"


@pytest.mark.parametrize(
    ("path", "body", "target", "says"),
    [
        ("activate", {"planId": "p" * 65, "quantity": 5}, "planId", "at most 64 characters"),
        ("activate", {"planId": "standard", "quantity": 2**63}, "quantity", "less than"),
        ("licenses", {"assignments": [{"userId": "u" * 257}]}, "assignments[0].userId", "256"),
        (
            "licenses",
            {"assignments": [{"userId": "u1", "email": "e" * 255}]},
            "assignments[0].email",
            "at most 254 characters",
        ),
    ],
)
async def test_every_string_of_a_request_has_a_maximum_length(
    path: str, body: dict[str, Any], target: str, says: str
) -> None:
    h = harness()
    event = purchase()
    await h.purchased(event)
    method = "POST" if path == "activate" else "PUT"
    url = f"{SUBS}/{event.subject}/{path}{API}"
    answer = await h.client.request(method, url, json=body, headers=publisher_headers())
    assert_names(answer, 400, target, says)
    assert await h.events() == []


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"status": "Success", "planId": "p" * 65}, "planId"),
        ({"status": "Success", "quantity": -(2**63) - 1}, "quantity"),
        ({"status": "S" * 5000}, "status"),
    ],
)
async def test_an_answer_to_an_operation_is_bounded_too(body: dict[str, Any], target: str) -> None:
    h = harness()
    answer = await h.client.patch(
        f"{SUBS}/{GUID}/operations/{GUID}{API}", json=body, headers=publisher_headers()
    )
    assert_names(answer, 400, target)


async def test_header_and_query_strings_have_a_maximum_length() -> None:
    h = harness()
    token = await h.client.post(
        f"{SUBS}/resolve{API}",
        headers=publisher_headers(**{"x-ms-marketplace-token": "t" * 8193}),
    )
    listed = await h.client.get(
        f"{SUBS}/{API}&continuationToken={'c' * 257}", headers=publisher_headers()
    )
    plans = await h.client.get(
        f"{SUBS}/{GUID}/listAvailablePlans{API}&planId={'p' * 65}", headers=publisher_headers()
    )
    assert_names(token, 400, "x-ms-marketplace-token", "at most 8192 characters")
    assert_names(listed, 400, "continuationToken", "at most 256 characters")
    assert_names(plans, 400, "planId", "at most 64 characters")


def test_the_openapi_document_declares_guids_and_lengths() -> None:
    document = harness().app.openapi()
    one = document["paths"]["/api/saas/subscriptions/{subscriptionId}"]["get"]["parameters"]
    assert {"name": "subscriptionId", "format": "uuid"}.items() <= {
        "name": one[0]["name"],
        **one[0]["schema"],
    }.items()
    plan = document["components"]["schemas"]["SubscriberPlan"]["properties"]
    assert plan["planId"]["maxLength"] == 64
