"""ActivationCompleted on the real broker -> one charge, one invoice, two ledger events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.billing.settings import BillingSettings
from shared.events.billing import ChargePosted, InvoiceIssued
from shared.events.provisioning import LicensesAssigned, LicensesAssignedData
from shared.http.auth import mint_token
from tests.integration.billing.support import read_ledger, running_billing
from tests.support.polling import eventually
from tests.unit.billing.builders import activation_completed

pytestmark = pytest.mark.broker

TOKEN = mint_token(
    BillingSettings().csp_jwt_secret,
    {"sub": "alice", "partnerId": "partner-int", "roles": ["SalesAgent"]},
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def licenses_assigned(subscription_id: str) -> LicensesAssigned:
    return LicensesAssigned(
        source="provisioning",
        time=activation_completed().time,
        subject=subscription_id,
        correlation_id="purchase-int",
        data=LicensesAssignedData(subscription_id=subscription_id, assigned_count=2, quantity=5),
    )


async def test_activation_is_billed_once_visible_over_http_and_published_on_the_ledger(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    event = activation_completed(partner_id="partner-int", customer_id="cust-int", quantity=5)
    sid = event.data.subscription_id
    never_activated = licenses_assigned("sub-int-never-activated")
    charges = f"/v1/customers/cust-int/subscriptions/{sid}/charges"

    async with running_billing(kafka_bootstrap, tmp_path) as billing:
        await billing.publish(licenses_assigned(sid))  # same key, before the activation
        await billing.publish(never_activated)
        raw = event.to_bytes()
        await billing.publish(event, raw=raw)

        response = await eventually(
            lambda: billing.http.get(charges, headers=AUTH),
            lambda r: r.status_code == 200,
            timeout=60,
            what="the first charge over HTTP",
        )
        body = response.json()
        assert (body["totalCount"], body["balance"]) == (1, "50.00")
        [charge] = body["items"]
        assert (charge["type"], charge["amount"]) == ("charge", "50.00")
        assert charge["eventId"] == str(event.id)
        invoices = (await billing.http.get("/v1/invoices", headers=AUTH)).json()
        assert invoices["totalCount"] == 1
        [invoice] = invoices["items"]
        assert (invoice["id"], invoice["number"], invoice["total"]) == (
            charge["invoiceId"],
            "INV-000001",
            "50.00",
        )
        assert billing.consumer.stats["skipped"] == 2  # both LicensesAssigned
        no_charge = "/v1/customers/cust-int/subscriptions/sub-int-never-activated/charges"
        assert (await billing.http.get(no_charge, headers=AUTH)).status_code == 404

        ledger = await read_ledger(kafka_bootstrap, at_least=2)
        assert [type(e) for e in ledger] == [ChargePosted, InvoiceIssued]
        posted, issued = ledger
        assert all(e.causation_id == str(event.id) for e in ledger)
        assert all(e.correlation_id == event.correlation_id and e.subject == sid for e in ledger)
        assert (posted.data.charge_id, str(posted.data.amount)) == (charge["id"], "50.00")
        assert (issued.data.invoice_id, issued.data.number) == (invoice["id"], "INV-000001")

        # The very same bytes again: recognised by the inbox, nothing changes.
        await billing.publish(event, raw=raw)
        await eventually(
            lambda: asyncio.sleep(0, result=billing.consumer.stats["duplicate"]),
            lambda n: n == 1,
            timeout=30,
            what="the redelivery to be skipped",
        )
        assert billing.consumer.stats["handled"] == 1
        again = (await billing.http.get(charges, headers=AUTH)).json()
        assert (again["totalCount"], again["balance"]) == (1, "50.00")
        assert (await billing.http.get("/v1/invoices", headers=AUTH)).json()["totalCount"] == 1
        assert await billing.app.state.runtime.store.pending_outbox() == 0
        assert len(await read_ledger(kafka_bootstrap, at_least=2)) == 2
