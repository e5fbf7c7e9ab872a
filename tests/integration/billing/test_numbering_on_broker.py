"""Invoice numbers over the real broker and SQLite: gapless across subscriptions.

A module of its own, so its broker (module-scoped fixture) starts empty and the
only activations billed are this test's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.billing.settings import BillingSettings
from shared.http.auth import mint_token
from tests.integration.billing.support import read_ledger, running_billing
from tests.support.polling import eventually
from tests.unit.billing.builders import activation_completed

pytestmark = pytest.mark.broker

SECRET = BillingSettings().csp_jwt_secret
AUTH_A = {
    "Authorization": "Bearer "
    + mint_token(SECRET, {"sub": "a", "partnerId": "partner-num-a", "roles": ["BillingAdmin"]})
}
AUTH_B = {
    "Authorization": "Bearer "
    + mint_token(SECRET, {"sub": "b", "partnerId": "partner-num-b", "roles": ["GlobalAdmin"]})
}


async def test_invoice_numbers_are_gapless_across_subscriptions_and_currencies(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    usd = activation_completed(partner_id="partner-num-a", customer_id="cust-usd")
    jpy = activation_completed(
        partner_id="partner-num-a",
        customer_id="cust-jpy",
        currency="JPY",
        price_per_seat="1200",
        quantity=10,
        term_duration="P1Y",
        billing_cycle="annual",
    )

    async with running_billing(kafka_bootstrap, tmp_path) as billing:

        async def invoices() -> dict:
            return (await billing.http.get("/v1/invoices", headers=AUTH_A)).json()

        await billing.publish(usd)
        await billing.publish(jpy)
        listing = await eventually(
            invoices, lambda body: body["totalCount"] == 2, timeout=60, what="two invoices"
        )
        newest, oldest = listing["items"]
        assert (newest["number"], oldest["number"]) == ("INV-000002", "INV-000001")
        assert newest["issuedAt"] >= oldest["issuedAt"]
        totals = {i["customerId"]: (i["currency"], i["total"]) for i in listing["items"]}
        assert totals == {"cust-usd": ("USD", "50.00"), "cust-jpy": ("JPY", "12000")}
        jpy_line = next(i for i in listing["items"] if i["currency"] == "JPY")["lineItems"][0]
        assert (jpy_line["unitPrice"], jpy_line["periodEnd"]) == ("1200", "2027-11-22T09:30:00Z")

        other = (await billing.http.get("/v1/invoices", headers=AUTH_B)).json()
        assert other == {"totalCount": 0, "items": []}
        ledger = await read_ledger(kafka_bootstrap, at_least=4)
        numbers = sorted(e.data.number for e in ledger if e.type == "InvoiceIssued")
        assert numbers == ["INV-000001", "INV-000002"]
        assert sorted(e.type for e in ledger) == ["ChargePosted"] * 2 + ["InvoiceIssued"] * 2
