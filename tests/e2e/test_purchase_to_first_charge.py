"""The central flow across three processes and a real broker, driven only over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.periods import add
from tests.e2e.actors import Partner, Publisher
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

CRM_MONTHLY = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "quantity": 5,
    "termDuration": "P1M",
    "billingCycle": "monthly",
}
CRM_ANNUAL = {**CRM_MONTHLY, "quantity": 3, "termDuration": "P1Y", "billingCycle": "annual"}


def link_issued(sub: dict) -> bool:
    return sub["actionNeeded"] and sub["activationLink"] is not None


def is_active(sub: dict) -> bool:
    return sub["status"] == "active"


async def one_charge(partner: Partner, cid: str, sid: str) -> dict:
    async def charges() -> dict:
        response = await partner.charges(cid, sid)
        return response.json() if response.status_code == 200 else {"totalCount": 0}

    return await eventually(charges, lambda c: c["totalCount"] >= 1, what="first charge")


async def test_link_then_licenses_then_activation_makes_the_subscription_active_with_one_charge(
    partner: Partner, contoso: Publisher
) -> None:
    cid, order = await partner.buy(CRM_MONTHLY)
    sid = order["lineItems"][0]["subscriptionId"]
    pending = await partner.subscription(cid, sid)
    assert pending["status"] == "pending"

    sub = await partner.wait_for_subscription(cid, sid, link_issued, "activation link")
    links = (
        await partner.ordering.get(
            f"/v1/customers/{cid}/orders/{order['id']}/lineitems/0/activationlinks"
        )
    ).json()
    assert links["totalCount"] == 1
    assert links["items"][0]["link"] == {"uri": sub["activationLink"], "method": "GET"}
    assert sub["activationLink"].startswith("https://contoso.example/landing?token=")

    resolved = await contoso.resolve(sub["activationLink"])
    assert (resolved["id"], resolved["planId"], resolved["quantity"]) == (sid, "standard", 5)

    assert (await contoso.assign_licenses(sid, "ann", "bob")).status_code == 200
    await partner.wait_for_subscription(cid, sid, lambda s: s["licensesAssigned"] == 2, "licenses")
    assert (await partner.charges(cid, sid)).status_code == 404  # billing has not started
    assert (await contoso.activate(sid, "standard", 5)).status_code == 200

    active = await partner.wait_for_subscription(cid, sid, is_active, "active")
    assert active["actionNeeded"] is False
    term_start = datetime.fromisoformat(active["effectiveStartDate"])
    term_end = add(term_start, "P1M")  # exclusive
    assert active["commitmentEndDate"] == (term_end - timedelta(days=1)).date().isoformat()

    charges = await one_charge(partner, cid, sid)
    assert charges["totalCount"] == 1
    charge = charges["items"][0]
    assert (charge["type"], charge["amount"], charge["currency"]) == ("charge", "50.00", "USD")
    # a monthly-billed P1M term: the one period is the whole half-open term
    assert datetime.fromisoformat(charge["periodStart"]) == term_start
    assert datetime.fromisoformat(charge["periodEnd"]) == term_end
    assert charges["balance"] == "50.00"

    invoice = (await partner.billing.get(f"/v1/invoices/{charge['invoiceId']}")).json()
    assert invoice["kind"] == "invoice"
    assert invoice["total"] == "50.00"
    assert invoice["customerId"] == cid
    listed = (await partner.billing.get("/v1/invoices", params={"customerId": cid})).json()
    assert [i["id"] for i in listed["items"]] == [invoice["id"]]


async def test_activation_then_licenses_also_completes_with_one_charge(
    partner: Partner, contoso: Publisher
) -> None:
    cid, order = await partner.buy(CRM_ANNUAL)
    sid = order["lineItems"][0]["subscriptionId"]
    await partner.wait_for_subscription(cid, sid, link_issued, "activation link")

    assert (await contoso.activate(sid, "standard", 3)).status_code == 200
    assert (await contoso.activate(sid, "standard", 3)).status_code == 200  # a retry is harmless
    assert (await contoso.assign_licenses(sid, "ann")).status_code == 200
    assert (await contoso.assign_licenses(sid, "ann")).status_code == 200

    await partner.wait_for_subscription(cid, sid, is_active, "active")
    await one_charge(partner, cid, sid)
    # A later fact about the same subscription (one key: billing reads it after any
    # second activation) is the signal: once its proration shows, a wrong second
    # charge would have shown too.
    asked = (await partner.change(cid, sid, quantity=4)).json()
    operation_id = asked["pendingChange"]["operationId"]
    answered = await eventually(
        lambda: contoso.answer(sid, operation_id, "Success"),
        lambda r: r.status_code == 200,
        what="the seat change reached the publisher",
    )
    assert answered.status_code == 200
    charges = await partner.wait_for_ledger(
        cid, sid, lambda c: c["totalCount"] >= 2, "the proration after the activation"
    )
    assert [line["type"] for line in charges["items"]] == ["charge", "proration"]
    assert charges["items"][0]["amount"] == "300.00"  # 3 seats x 100.00 per year


async def test_no_charge_exists_after_only_one_of_the_two_steps(
    partner: Partner, contoso: Publisher
) -> None:
    cid, order = await partner.buy(CRM_MONTHLY, CRM_MONTHLY, CRM_MONTHLY)
    licenses_only, activated_only, both = (li["subscriptionId"] for li in order["lineItems"])
    for sid in (licenses_only, activated_only, both):
        await partner.wait_for_subscription(cid, sid, link_issued, "activation link")

    assert (await contoso.assign_licenses(licenses_only, "ann")).status_code == 200
    assert (await contoso.activate(activated_only, "standard", 5)).status_code == 200
    assert (await contoso.assign_licenses(both, "ann")).status_code == 200
    assert (await contoso.activate(both, "standard", 5)).status_code == 200

    await one_charge(partner, cid, both)
    # Provisioning's state is read synchronously: a subscription still waiting there
    # never emitted ActivationCompleted, so billing cannot charge it later.
    for sid in (licenses_only, activated_only):
        waiting = await contoso.subscription(sid)
        assert waiting["saasSubscriptionStatus"] == "PendingFulfillmentStart"
        assert (await partner.charges(cid, sid)).status_code == 404
        assert (await partner.subscription(cid, sid))["status"] == "pending"
