"""Managing a subscription after purchase, across the three processes and the broker,
driven only over HTTP: the partner's PATCH, the publisher's webhooks (every signature
checked by the publisher's server) and operations, and what each change does to the
bill. Business time moves only through the test clock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.periods import add, last_day
from tests.e2e.actors import Partner, Publisher
from tests.e2e.conftest import ACCEPTANCE_TIMEOUT, System
from tests.support.polling import eventually
from tests.support.webhook_server import Delivery, PublisherWebhooks

pytestmark = pytest.mark.e2e

MONTHLY = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "quantity": 5,
    "termDuration": "P1M",
    "billingCycle": "monthly",
}  # 10.00 per seat and month
ANNUAL = {**MONTHLY, "quantity": 3, "termDuration": "P1Y", "billingCycle": "annual"}  # 100.00
ANNUAL_BILLED_MONTHLY = {**MONTHLY, "quantity": 2, "termDuration": "P1Y"}  # 9.00 a month


async def active_subscription(
    partner: Partner, contoso: Publisher, line: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """Buy `line`, let the publisher license and activate it, wait for its first charge."""
    cid, order = await partner.buy(line)
    sid = order["lineItems"][0]["subscriptionId"]
    await partner.wait_for_subscription(
        cid, sid, lambda s: s["activationLink"] is not None, "activation link"
    )
    assert (await contoso.assign_licenses(sid, "ann")).status_code == 200
    assert (await contoso.activate(sid, line["planId"], line["quantity"])).status_code == 200
    active = await partner.wait_for_subscription(
        cid, sid, lambda s: s["status"] == "active", "active"
    )
    await partner.wait_for_ledger(cid, sid, lambda c: c["totalCount"] == 1, "first charge")
    return cid, sid, active


async def webhook(
    webhooks: PublisherWebhooks, sid: str, action: str, count: int = 1
) -> list[Delivery]:
    """Wait until the publisher received `count` webhooks of `action` for `sid`."""

    async def received() -> list[Delivery]:
        return [d for d in webhooks.deliveries(sid) if d.action == action]

    return await eventually(received, lambda found: len(found) >= count, what=f"{action} webhook")


def lines_of(ledger: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [line for line in ledger["items"] if line["type"] == kind]


@pytest.fixture(autouse=True)
def every_signature_checks_out(webhooks: PublisherWebhooks):  # type: ignore[no-untyped-def]
    yield
    assert all(d.signature_valid for d in webhooks.deliveries()), "a webhook was badly signed"


async def test_nickname_reseller_and_auto_renew_change_at_once_without_the_publisher(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks
) -> None:
    cid, sid, _ = await active_subscription(partner, contoso, MONTHLY)

    changed = await partner.change(
        cid, sid, friendlyName="Sales team", partnerId="1234567", autoRenewEnabled=False
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["friendlyName"], body["partnerId"], body["autoRenewEnabled"]) == (
        "Sales team",
        "1234567",
        False,
    )
    cleared = await partner.change(cid, sid, partnerId=None, autoRenewEnabled=True)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["partnerId"], cleared.json()["autoRenewEnabled"]) == (None, True)
    assert (await partner.subscription(cid, sid))["friendlyName"] == "Sales team"

    bad = await partner.change(cid, sid, partnerId="12345678901")  # 11 digits
    assert bad.status_code == 400
    assert "partnerId" in bad.text

    # The publisher hears of none of that: the next webhook it gets for this
    # subscription is the suspension that follows.
    assert (await partner.change(cid, sid, status="suspended")).status_code == 200
    await webhook(webhooks, sid, "Suspend")
    assert webhooks.actions(sid) == ["Suspend"]


async def test_a_seat_increase_the_publisher_accepts_is_prorated_on_its_own_invoice(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks
) -> None:
    cid, sid, _ = await active_subscription(partner, contoso, MONTHLY)

    asked = await partner.change(cid, sid, quantity=8)
    assert asked.status_code == 200, asked.text
    pending = asked.json()
    assert pending["quantity"] == 5  # unchanged until the publisher accepts
    assert pending["pendingChange"]["quantity"] == 8
    operation_id = pending["pendingChange"]["operationId"]

    second = await partner.change(cid, sid, quantity=9)
    assert second.status_code == 409  # one pending change at a time

    [sent] = await webhook(webhooks, sid, "ChangeQuantity")
    assert sent.body["id"] == operation_id
    assert (sent.body["quantity"], sent.body["operationRequestSource"]) == (8, "Partner")
    assert sent.body["subscription"]["id"] == sid
    assert (await contoso.operation(sid, operation_id)).json()["status"] == "InProgress"

    assert (await contoso.answer(sid, operation_id, "Success")).status_code == 200
    assert (await contoso.answer(sid, operation_id, "Success")).status_code == 409  # decided

    accepted = await partner.wait_for_subscription(
        cid, sid, lambda s: s["quantity"] == 8, "the accepted seat count"
    )
    assert accepted["pendingChange"] is None
    assert accepted["lastChange"]["status"] == "accepted"
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: c["totalCount"] == 2, "the proration"
    )
    [proration] = lines_of(ledger, "proration")
    # Accepted seconds into a fresh period: every remaining day counts (rounded up),
    # so 3 more seats cost a whole period at 10.00 each.
    assert proration["amount"] == "30.00"
    assert ledger["balance"] == "80.00"
    [charge] = lines_of(ledger, "charge")
    assert proration["invoiceId"] != charge["invoiceId"]
    assert proration["periodEnd"] == charge["periodEnd"]
    assert (await contoso.operation(sid, operation_id)).json()["status"] == "Succeeded"


async def test_refused_seat_changes_change_nothing_and_silence_accepts_a_decrease_as_credit(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks
) -> None:
    cid, sid, _ = await active_subscription(partner, contoso, MONTHLY)

    # 1. The publisher's webhook endpoint answers 400: rejected.
    webhooks.answer(sid, "ChangeQuantity", 400)
    first = (await partner.change(cid, sid, quantity=7)).json()["pendingChange"]["operationId"]
    rejected = await partner.wait_for_subscription(
        cid, sid, lambda s: s["pendingChange"] is None, "the webhook rejection"
    )
    assert (rejected["quantity"], rejected["lastChange"]["status"]) == (5, "rejected")
    assert rejected["lastChange"]["operationId"] == first

    # 2. The publisher PATCHes the operation with Failure: rejected.
    webhooks.answer(sid, "ChangeQuantity", 200)
    second = (await partner.change(cid, sid, quantity=6)).json()["pendingChange"]["operationId"]
    await webhook(webhooks, sid, "ChangeQuantity", count=2)
    assert (await contoso.answer(sid, second, "Failure")).status_code == 200
    rejected = await partner.wait_for_subscription(
        cid, sid, lambda s: s["lastChange"]["operationId"] == second, "the PATCH rejection"
    )
    assert (rejected["quantity"], rejected["lastChange"]["status"]) == (5, "rejected")
    assert (await contoso.operation(sid, second)).json()["status"] == "Failed"

    # 3. The publisher says nothing past the acceptance timeout: the decrease is accepted.
    third = (await partner.change(cid, sid, quantity=3)).json()["pendingChange"]["operationId"]
    await webhook(webhooks, sid, "ChangeQuantity", count=3)
    seconds = int(ACCEPTANCE_TIMEOUT.removeprefix("PT").removesuffix("S"))
    await partner.advance_clock(f"PT{seconds + 1}S")
    accepted = await partner.wait_for_subscription(
        cid, sid, lambda s: s["quantity"] == 3, "acceptance by silence"
    )
    assert (accepted["lastChange"]["operationId"], accepted["lastChange"]["status"]) == (
        third,
        "accepted",
    )

    # Billing saw the accepted change after the two refused ones: the one proration
    # it posted is the decrease, credited; the refusals posted nothing.
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: c["totalCount"] == 2, "the decrease's credit"
    )
    [credit] = lines_of(ledger, "proration")
    assert Decimal(credit["amount"]) < 0
    assert Decimal(credit["amount"]) >= Decimal("-20.00")  # 2 seats x 10.00 at most
    document = await partner.document(credit["invoiceId"])
    assert (document["kind"], document["total"]) == ("creditNote", credit["amount"])


async def test_suspension_notifies_the_publisher_and_charges_nothing_until_reinstated(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks, system: System
) -> None:
    cid, sid, active = await active_subscription(partner, contoso, MONTHLY)

    suspended = await partner.change(cid, sid, status="suspended")
    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    assert (await partner.change(cid, sid, quantity=6)).status_code == 409  # not active
    await webhook(webhooks, sid, "Suspend")
    await eventually(
        lambda: contoso.subscription(sid),
        lambda s: s["saasSubscriptionStatus"] == "Suspended",
        what="Suspended for the publisher",
    )

    # The term ends while suspended: it renews (auto-renew is on), nothing is charged.
    await partner.advance_clock("P1M", system.provisioning, system.billing)
    await webhook(webhooks, sid, "Renew")
    term_start = datetime.fromisoformat(active["effectiveStartDate"])
    renewed_end = add(term_start, "P2M")
    await partner.wait_for_subscription(
        cid,
        sid,
        lambda s: s["commitmentEndDate"] == last_day(renewed_end).isoformat(),
        "the renewed term",
    )

    reinstated = await partner.change(cid, sid, status="active")
    assert (reinstated.status_code, reinstated.json()["status"]) == (200, "active")
    await webhook(webhooks, sid, "Reinstate")
    # Reinstatement charges the rest of the current period; the renewal that happened
    # while suspended was never charged.
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: c["totalCount"] == 2, "the reinstatement charge"
    )
    assert lines_of(ledger, "renewal") == []
    [first, rest] = lines_of(ledger, "charge")
    assert datetime.fromisoformat(rest["periodEnd"]) == renewed_end
    assert Decimal("0") < Decimal(rest["amount"]) <= Decimal("50.00")


async def test_cancelling_inside_the_window_ends_now_and_credits_every_charge(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks
) -> None:
    cid, sid, active = await active_subscription(partner, contoso, ANNUAL)
    assert datetime.fromisoformat(active["refundableUntil"]) > datetime.fromisoformat(
        active["creationDate"]
    )

    cancelled = await partner.change(cid, sid, status="deleted")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "deleted")
    await webhook(webhooks, sid, "Unsubscribe")

    ledger = await partner.wait_for_ledger(cid, sid, lambda c: c["totalCount"] == 2, "the credit")
    [credit] = lines_of(ledger, "credit")
    assert credit["amount"] == "-300.00"  # 3 seats x 100.00, all of it back
    assert ledger["balance"] == "0.00"
    note = await partner.document(credit["invoiceId"])
    assert (note["kind"], note["total"]) == ("creditNote", "-300.00")
    assert note["number"].startswith("CN-")
    await eventually(
        lambda: contoso.subscription(sid),
        lambda s: s["saasSubscriptionStatus"] == "Unsubscribed",
        what="Unsubscribed for the publisher",
    )
    assert (await partner.change(cid, sid, quantity=4)).status_code == 409  # deleted


async def test_cancelling_after_the_window_ends_the_subscription_at_term_end_unrefunded(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks, system: System
) -> None:
    cid, sid, _ = await active_subscription(partner, contoso, MONTHLY)
    await partner.advance_clock("PT25H", system.ordering)  # past the 24-hour window

    scheduled = await partner.change(cid, sid, status="deleted")
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert (body["status"], body["autoRenewEnabled"]) == ("active", False)

    await partner.advance_clock("P1M", system.provisioning, system.billing)
    await webhook(webhooks, sid, "Unsubscribe")
    await partner.wait_for_subscription(cid, sid, lambda s: s["status"] == "deleted", "ended")
    assert "Renew" not in webhooks.actions(sid)
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: c.get("status") == "ended", "billing saw the end"
    )
    assert [line["type"] for line in ledger["items"]] == ["charge"]  # nothing refunded or renewed
    assert ledger["balance"] == "50.00"


async def test_auto_renewal_starts_a_new_term_charged_on_a_new_invoice(
    partner: Partner, contoso: Publisher, webhooks: PublisherWebhooks, system: System
) -> None:
    cid, sid, active = await active_subscription(partner, contoso, MONTHLY)
    term_end = add(datetime.fromisoformat(active["effectiveStartDate"]), "P1M")

    await partner.advance_clock("P1M", system.provisioning, system.billing)
    [renew] = await webhook(webhooks, sid, "Renew")
    assert renew.body["subscriptionId"] == sid
    await partner.wait_for_subscription(
        cid,
        sid,
        lambda s: s["commitmentEndDate"] == last_day(add(term_end, "P1M")).isoformat(),
        "the next term's end",
    )
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: len(lines_of(c, "renewal")) == 1, "the renewal charge"
    )
    [charge] = lines_of(ledger, "charge")
    [renewal] = lines_of(ledger, "renewal")
    assert datetime.fromisoformat(renewal["periodStart"]) == term_end
    assert renewal["amount"] == "50.00"
    assert renewal["invoiceId"] != charge["invoiceId"]
    renew_ops = [o for o in await contoso.operations(sid) if o["action"] == "Renew"]
    assert [o["status"] for o in renew_ops] == ["Succeeded"]


async def test_an_annual_term_billed_monthly_is_charged_each_month(
    partner: Partner, contoso: Publisher, system: System
) -> None:
    cid, sid, active = await active_subscription(partner, contoso, ANNUAL_BILLED_MONTHLY)
    start = datetime.fromisoformat(active["effectiveStartDate"])

    await partner.advance_clock("P1M", system.billing)
    ledger = await partner.wait_for_ledger(
        cid, sid, lambda c: c["totalCount"] == 2, "the second month's charge"
    )
    first, second = sorted(lines_of(ledger, "charge"), key=lambda line: line["periodStart"])
    assert (first["amount"], second["amount"]) == ("18.00", "18.00")  # 2 seats x 9.00
    assert datetime.fromisoformat(second["periodStart"]) == add(start, "P1M")
    assert datetime.fromisoformat(second["periodEnd"]) == add(start, "P2M")
    assert second["invoiceId"] != first["invoiceId"]
    assert (await partner.subscription(cid, sid))["commitmentEndDate"] == last_day(
        add(start, "P1Y")
    ).isoformat()
