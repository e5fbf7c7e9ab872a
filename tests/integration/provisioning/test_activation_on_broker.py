"""Provisioning against the real broker: purchase in, activation link and completion out."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued
from shared.periods import add
from tests.integration.provisioning.support import read_output, running_provisioning
from tests.support.polling import eventually
from tests.unit.provisioning.support import API, publisher_headers, purchase, token_of

pytestmark = pytest.mark.broker
SUBS = "/api/saas/subscriptions"


async def test_purchase_yields_a_resolvable_link_once_and_redelivery_changes_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_provisioning(kafka_bootstrap, tmp_path) as svc:
        event = purchase(quantity=2)
        await svc.publish_purchase(event)

        (issued,) = await read_output(kafka_bootstrap, event.subject, at_least=1)
        assert isinstance(issued, ActivationLinkIssued)
        assert (issued.causation_id, issued.correlation_id) == (str(event.id), event.correlation_id)
        resolved = await svc.http.post(
            f"{SUBS}/resolve{API}",
            headers=publisher_headers(**{"x-ms-marketplace-token": token_of(issued.data.link)}),
        )
        assert resolved.status_code == 200, resolved.text
        assert (resolved.json()["id"], resolved.json()["quantity"]) == (event.subject, 2)

        # The very same bytes again (a redelivery), then a new event id for the same purchase.
        await svc.publish_purchase(event)
        await eventually(
            lambda: _stat(svc.consumer.stats, "duplicate"),
            lambda n: n == 1,
            what="the redelivered purchase is recognised",
        )
        await svc.publish_purchase(purchase(subscription_id=event.subject, quantity=9))
        await eventually(
            lambda: _stat(svc.consumer.stats, "handled"),
            lambda n: n == 2,
            what="the second purchase event is handled",
        )
        await eventually(svc.outbox_flushed, bool, what="outbox flushed")

        events = await read_output(kafka_bootstrap, event.subject, at_least=1)
        assert [e.id for e in events] == [issued.id]  # still exactly one link
        got = await svc.http.get(f"{SUBS}/{event.subject}{API}", headers=publisher_headers())
        assert got.json()["quantity"] == 2


async def test_licenses_and_activate_over_http_publish_exactly_one_activation_completed(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_provisioning(kafka_bootstrap, tmp_path) as svc:
        event = purchase(quantity=3)
        await svc.publish_purchase(event)
        (issued,) = await read_output(kafka_bootstrap, event.subject, at_least=1)
        sid = issued.data.subscription_id
        body = {"assignments": [{"userId": "u1", "email": "u1@customer.example"}]}
        activation = {"planId": "standard", "quantity": 3}

        for _ in range(2):  # activate retried while waiting for licenses: a no-op
            r = await svc.http.post(
                f"{SUBS}/{sid}/activate{API}", headers=publisher_headers(), json=activation
            )
            assert r.status_code == 200, r.text
        for _ in range(2):  # the same license set again: nothing new
            r = await svc.http.put(
                f"{SUBS}/{sid}/licenses{API}", headers=publisher_headers(), json=body
            )
            assert r.json() == {"subscriptionId": sid, "assignedCount": 1, "quantity": 3}
        await eventually(svc.outbox_flushed, bool, what="outbox flushed")

        events = await read_output(kafka_bootstrap, sid, at_least=3)
        assert [e.type for e in events] == [
            "ActivationLinkIssued",
            "LicensesAssigned",
            "ActivationCompleted",
        ]
        completed = events[-1]
        assert isinstance(completed, ActivationCompleted)
        assert completed.correlation_id == event.correlation_id
        assert (completed.data.licenses_assigned, completed.data.quantity) == (1, 3)
        got = await svc.http.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())
        assert got.json()["saasSubscriptionStatus"] == "Subscribed"
        start = datetime.fromisoformat(got.json()["term"]["startDate"])
        assert start == completed.data.term_start
        term_end = add(start, completed.data.term_duration)
        assert completed.data.term_end == term_end  # exclusive on the wire
        last_day = datetime.fromisoformat(got.json()["term"]["endDate"])
        assert last_day == term_end - timedelta(days=1)  # the publisher sees the last day


async def _stat(stats: Counter[str], name: str) -> int:
    return stats[name]
