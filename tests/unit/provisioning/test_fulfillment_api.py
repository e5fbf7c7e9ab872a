"""The read side of the publisher API and the rules every /api call follows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from tests.unit.provisioning.support import (
    API,
    SETTINGS,
    Harness,
    partner_headers,
    publisher_headers,
    purchase,
    token_of,
)

SUBS = "/api/saas/subscriptions"


async def test_resolve_answers_the_subscription_behind_the_token() -> None:
    h = Harness()
    event = purchase(quantity=4, friendly_name="Adatum sales CRM")
    issued = await h.purchased(event)
    headers = publisher_headers(**{"x-ms-marketplace-token": token_of(issued.data.link)})

    r = await h.client.post(f"{SUBS}/resolve{API}", headers=headers)

    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("id", "subscriptionName", "offerId", "planId", "quantity")} == {
        "id": event.subject,
        "subscriptionName": "Adatum sales CRM",
        "offerId": "contoso-crm",
        "planId": "standard",
        "quantity": 4,
    }
    assert body["subscription"]["saasSubscriptionStatus"] == "PendingFulfillmentStart"


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c"])
async def test_resolve_without_a_usable_token_is_a_bad_request(token: str | None) -> None:
    h = Harness()
    extra = {} if token is None else {"x-ms-marketplace-token": token}
    r = await h.client.post(f"{SUBS}/resolve{API}", headers=publisher_headers(**extra))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BadRequest"
    assert r.json()["error"]["target"] == "x-ms-marketplace-token"


async def test_resolve_of_an_expired_token_is_a_bad_request() -> None:
    h = Harness()
    issued = await h.purchased()
    h.clock.advance(timedelta(days=7, seconds=1))
    headers = publisher_headers(**{"x-ms-marketplace-token": token_of(issued.data.link)})
    r = await h.client.post(f"{SUBS}/resolve{API}", headers=headers)
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]


async def test_resolve_of_another_publishers_token_is_forbidden() -> None:
    h = Harness()
    issued = await h.purchased()
    token = token_of(issued.data.link)
    headers = publisher_headers("fabrikam", **{"x-ms-marketplace-token": token})
    r = await h.client.post(f"{SUBS}/resolve{API}", headers=headers)
    assert r.status_code == 403


async def test_resolve_of_a_valid_token_for_an_unknown_subscription_is_not_found() -> None:
    h = Harness()
    token = PurchaseTokens(SETTINGS.csp_purchase_token_secret, "P7D", h.clock).issue(
        str(uuid.uuid4()), "contoso"
    )
    headers = publisher_headers(**{"x-ms-marketplace-token": token.token})
    r = await h.client.post(f"{SUBS}/resolve{API}", headers=headers)
    assert r.status_code == 404


async def test_get_subscription_shows_the_csp_facts() -> None:
    h = Harness()
    event = purchase(auto_renew_enabled=False)
    await h.purchased(event)

    r = await h.client.get(f"{SUBS}/{event.subject}{API}", headers=publisher_headers())

    assert r.status_code == 200
    body = r.json()
    assert body["beneficiary"] == {"tenantId": event.data.customer_id}
    assert body["purchaser"] == {"puid": "partner-1"}  # not a GUID, so not a tenantId
    # No term dates before activation completes.
    assert body["term"] == {"termUnit": "P1M", "chargeDuration": "P1M"}
    assert body["autoRenew"] is False
    assert body["allowedCustomerOperations"] == ["Read"]
    assert (body["sandboxType"], body["sessionMode"], body["isTest"]) == ("Csp", "None", False)
    assert None not in body.values()


async def test_list_shows_only_the_callers_subscriptions_with_or_without_trailing_slash() -> None:
    h = Harness()
    mine, theirs = purchase(), purchase(publisher_id="fabrikam", offer_id="fabrikam-backup")
    await h.purchased(mine)
    await h.purchased(theirs)

    for path in (f"{SUBS}/{API}", f"{SUBS}{API}"):
        r = await h.client.get(path, headers=publisher_headers())
        assert r.status_code == 200
        assert [s["id"] for s in r.json()["subscriptions"]] == [mine.subject]
        assert "@nextLink" not in r.json()


async def test_another_publishers_subscription_is_forbidden_and_an_unknown_one_not_found() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    for method in ("GET", "PATCH", "DELETE"):
        foreign = await h.client.request(
            method, f"{SUBS}/{event.subject}{API}", headers=publisher_headers("fabrikam")
        )
        unknown = await h.client.request(
            method, f"{SUBS}/{uuid.uuid4()}{API}", headers=publisher_headers()
        )
        assert (foreign.status_code, unknown.status_code) == (403, 404), method


async def test_publisher_patch_and_delete_are_refused_for_csp_purchases() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    patch = await h.client.patch(
        f"{SUBS}/{event.subject}{API}", headers=publisher_headers(), json={"quantity": 9}
    )
    delete = await h.client.delete(f"{SUBS}/{event.subject}{API}", headers=publisher_headers())
    assert (patch.status_code, delete.status_code) == (400, 400)
    assert "Read" in patch.json()["error"]["message"]


async def test_list_available_plans_answers_the_offers_plans() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    path = f"{SUBS}/{event.subject}/listAvailablePlans{API}"

    every = (await h.client.get(path, headers=publisher_headers())).json()["plans"]
    one = (await h.client.get(f"{path}&planId=premium", headers=publisher_headers())).json()

    assert [p["planId"] for p in every] == ["standard", "premium"]
    assert every[0]["planComponents"]["recurrentBillingTerms"][0] == {
        "currency": "USD",
        "price": 10,
        "termUnit": "P1M",
        "termDescription": "1 month term, billed monthly",
    }
    assert [p["planId"] for p in one["plans"]] == ["premium"]


async def test_operations_list_is_empty_and_an_operation_is_not_found() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    ops = await h.client.get(f"{SUBS}/{event.subject}/operations{API}", headers=publisher_headers())
    one = await h.client.get(
        f"{SUBS}/{event.subject}/operations/{uuid.uuid4()}{API}", headers=publisher_headers()
    )
    assert (ops.status_code, ops.json()) == (200, {"operations": []})
    assert one.status_code == 404


@pytest.mark.parametrize("query", ["", "?api-version=2020-01-01", "?api-version="])
async def test_a_missing_or_wrong_api_version_is_a_bad_request(query: str) -> None:
    h = Harness()
    r = await h.client.get(f"{SUBS}/{query}", headers=publisher_headers())
    assert r.status_code == 400
    assert r.json()["error"]["target"] == "api-version"


async def test_tracking_headers_are_echoed() -> None:
    h = Harness()
    sent = {"x-ms-requestid": str(uuid.uuid4()), "x-ms-correlationid": str(uuid.uuid4())}
    r = await h.client.get(f"{SUBS}/{API}", headers=publisher_headers(**sent))
    assert {k: r.headers[k] for k in sent} == sent


async def test_tracking_headers_that_are_not_guids_are_replaced_not_echoed() -> None:
    h = Harness()
    sent = {"x-ms-requestid": "x" * 5000, "x-ms-correlationid": "not-a-guid"}
    r = await h.client.get(f"{SUBS}/{API}", headers=publisher_headers(**sent))
    assert r.status_code == 200
    for name, value in sent.items():
        assert r.headers[name] != value
        assert uuid.UUID(r.headers[name])


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"{SUBS}/{API}", {}, 401),
        (f"{SUBS}/{API}", {"Authorization": "Bearer nope"}, 401),
        (f"{SUBS}/{API}", partner_headers(), 403),
        (f"{SUBS}/", publisher_headers(), 400),
        (f"{SUBS}/{uuid.uuid4()}{API}", publisher_headers(), 404),
        (f"/api/nowhere{API}", publisher_headers(), 404),
    ],
)
async def test_tracking_headers_are_generated_on_errors_too(
    path: str, headers: dict[str, str], status: int
) -> None:
    h = Harness()
    r = await h.client.get(path, headers=headers)
    assert r.status_code == status
    assert set(r.json()) == {"error"}
    for name in ("x-ms-requestid", "x-ms-correlationid"):
        assert uuid.UUID(r.headers[name])


async def test_an_unexpected_failure_is_a_500_that_still_carries_the_tracking_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = Harness()

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(h.app.state.bus, "handle", broken)
    sent = {"x-ms-requestid": str(uuid.uuid4()), "x-ms-correlationid": str(uuid.uuid4())}
    r = await h.client.get(f"{SUBS}/{API}", headers=publisher_headers(**sent))

    assert r.status_code == 500
    assert r.json()["error"]["code"] == "InternalError"
    assert "store went away" not in r.text  # no internals in the answer
    assert {k: r.headers[k] for k in sent} == sent
