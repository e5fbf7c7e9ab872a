"""Provisioning's facts on the real broker and SQLite: applied in the topic's order
after the activation, each posted once, the unique index in the SQLite file.

A module of its own, so its broker (module-scoped fixture) starts empty.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from services.billing.adapters.repositories import ONE_LINE_PER_PERIOD
from services.billing.settings import BillingSettings
from shared.events.provisioning import QuantityChangeAccepted, SubscriptionCancelled
from shared.http.auth import mint_token
from shared.store.sqlite_schema import sqlite_index_name
from tests.integration.billing.support import read_ledger, running_billing
from tests.support.polling import eventually
from tests.unit.billing.builders import TERM_START, activation_completed, again, fact

pytestmark = pytest.mark.broker

AUTH = {
    "Authorization": "Bearer "
    + mint_token(
        BillingSettings().csp_jwt_secret,
        {"sub": "a", "partnerId": "partner-facts", "roles": ["BillingAdmin"]},
    )
}


async def test_a_seat_change_and_a_cancellation_follow_the_activation_once_each(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    activation = activation_completed(partner_id="partner-facts", customer_id="cust-facts")
    sid = activation.data.subscription_id
    increase = fact(
        QuantityChangeAccepted,
        sid,
        quantity=8,
        previous_quantity=5,
        accepted_at=TERM_START,  # at the start: a whole period for 3 more seats
        accepted_by="publisher",
    )
    cancel = fact(SubscriptionCancelled, sid, cancelled_at=TERM_START + timedelta(hours=2))
    charges = f"/v1/customers/cust-facts/subscriptions/{sid}/charges"

    async with running_billing(kafka_bootstrap, tmp_path) as billing:
        # One key, one partition: billing sees them in this order, the activation first.
        for event in (activation, increase, cancel, again(cancel), again(increase)):
            await billing.publish(event)

        await eventually(
            lambda: billing.http.get(charges, headers=AUTH),
            lambda r: r.status_code == 200 and r.json()["status"] == "ended",
            timeout=60,
            what="the cancellation",
        )
        await eventually(
            lambda: asyncio.sleep(0, result=billing.consumer.stats["handled"]),
            lambda n: n == 5,
            timeout=30,
            what="the replays under new event ids",
        )
        ledger = (await billing.http.get(charges, headers=AUTH)).json()
        assert [(c["type"], c["amount"]) for c in ledger["items"]] == [
            ("charge", "50.00"),
            ("proration", "30.00"),
            ("credit", "-80.00"),  # one period: the charge and the proration as one line
        ]
        assert ledger["balance"] == "0.00"
        documents = (await billing.http.get("/v1/invoices", headers=AUTH)).json()["items"]
        assert [(d["number"], d["total"]) for d in documents] == [
            ("CN-000001", "-80.00"),
            ("INV-000002", "30.00"),
            ("INV-000001", "50.00"),
        ]
        events = await read_ledger(kafka_bootstrap, at_least=6)
        assert [e.data.type for e in events if e.type == "ChargePosted"] == [
            "charge",
            "proration",
            "credit",
        ]

    with sqlite3.connect(BillingSettings(csp_data_dir=tmp_path).store_path()) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert sqlite_index_name(ONE_LINE_PER_PERIOD) in names
