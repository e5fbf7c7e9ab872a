"""subscriptions.state after a purchase and its activation, read off the real broker as
a newcomer would: the last value per key gives the partner's and the publisher's view,
each as its own API shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.events.state import SubscriptionStateChanged, state_key
from shared.events.topics import SUBSCRIPTIONS_STATE
from tests.e2e.processes import buy_and_activate, charges, running_system, until
from tests.support.topics import read_records

pytestmark = pytest.mark.e2e


async def test_the_state_topic_holds_each_part_of_the_subscription_as_its_api_shows_it(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path) as (system, actors):
        cid, sid = await buy_and_activate(actors)
        await until(lambda: charges(actors, cid, sid), f"the charge of {sid}")
        partner_view = await actors.partner.subscription(cid, sid)
        publisher_view = await actors.publisher.subscription(sid)

        records = await read_records(
            f"127.0.0.1:{system.broker_port}",
            SUBSCRIPTIONS_STATE,
            at_least=2,
            where=lambda r: r.key is not None and r.key.decode().startswith(sid),
        )
        latest = {
            r.key.decode(): SubscriptionStateChanged.model_validate_json(r.value) for r in records
        }
        assert set(latest) == {state_key(sid, "partner"), state_key(sid, "publisher")}
        partner = latest[state_key(sid, "partner")]
        publisher = latest[state_key(sid, "publisher")]
        assert (partner.source, partner.subject, partner.data.part) == ("ordering", sid, "partner")
        assert partner.data.state == partner_view  # status "active", as GET shows it
        assert partner.data.state["status"] == "active"
        assert (publisher.source, publisher.data.part) == ("provisioning", "publisher")
        assert publisher.data.state == publisher_view
        assert publisher.data.state["saasSubscriptionStatus"] == "Subscribed"
        # Both parts carry the purchase's correlation id, as its events do.
        assert partner.correlation_id == publisher.correlation_id
        assert len(records) >= 3  # pending, then each change: a history the newcomer skips
