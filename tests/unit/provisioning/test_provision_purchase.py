"""SubscriptionPurchased -> PendingFulfillmentStart subscription + ActivationLinkIssued."""

from __future__ import annotations

import urllib.parse
from datetime import timedelta
from decimal import Decimal

import pytest

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.entrypoints.consumers import provision_purchase
from shared.events.ordering import SubscriptionPurchased
from shared.messaging.stalls import PartitionStalled
from tests.unit.provisioning.support import (
    API,
    SETTINGS,
    T0,
    Harness,
    publisher_headers,
    purchase,
    token_of,
)


async def test_purchase_creates_a_pending_subscription_with_everything_the_event_said() -> None:
    h = Harness()
    event = purchase(quantity=7, reseller_mpn_id="1234567")
    await h.purchased(event)

    stored = await h.stored(event.subject)
    assert stored is not None
    assert stored.status == "PendingFulfillmentStart"
    assert (stored.quantity, stored.plan_id, stored.reseller_mpn_id) == (7, "standard", "1234567")
    assert stored.price_per_seat_minor == 1000  # minor units in storage
    assert stored.correlation_id == event.correlation_id
    assert stored.term_start is None and not stored.licenses


async def test_activation_link_is_the_landing_page_with_an_url_encoded_token() -> None:
    h = Harness()
    event = purchase()
    issued = await h.purchased(event)

    assert issued.source == "provisioning" and issued.subject == event.subject
    assert issued.causation_id == str(event.id)
    assert issued.correlation_id == event.correlation_id
    assert issued.data.subscription_id == event.subject
    assert issued.data.token_expires_at == T0 + timedelta(days=7)
    base, _, query = issued.data.link.partition("?token=")
    assert base == "https://contoso.example/landing"
    assert query == urllib.parse.quote(token_of(issued.data.link), safe="")
    claims = PurchaseTokens(SETTINGS.csp_purchase_token_secret, "P7D", h.clock).verify(
        token_of(issued.data.link)
    )
    assert (claims.subscription_id, claims.publisher_id) == (event.subject, "contoso")


async def test_link_uses_the_landing_page_of_the_offers_publisher() -> None:
    h = Harness()
    event = purchase(publisher_id="fabrikam", offer_id="fabrikam-backup", plan_id="team")
    issued = await h.purchased(event)
    assert issued.data.link.startswith("https://fabrikam.example/activate?token=")


async def test_the_same_purchase_delivered_twice_is_handled_once() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)

    assert await h.consumer.handle(event.to_bytes()) == "duplicate"
    assert await h.events() == []


async def test_another_purchase_event_for_an_existing_subscription_changes_nothing() -> None:
    h = Harness()
    first = purchase()
    issued = await h.purchased(first)
    replay = purchase(subscription_id=first.subject, quantity=99)  # new event id, same id
    h.clock.advance(timedelta(hours=1))

    assert await h.consumer.handle(replay.to_bytes()) == "handled"

    assert await h.events() == []
    path = f"/api/saas/subscriptions/{first.subject}{API}"
    r = await h.client.get(path, headers=publisher_headers())
    assert r.json()["quantity"] == 5
    stored = await h.stored(first.subject)
    assert stored is not None and stored.activation_link == issued.data.link


def dead_letters(h: Harness) -> list[tuple[str, bytes, dict[str, str]]]:
    """Binds a fake in place of the broker's dead-letter publish; returns what it caught."""
    dead: list[tuple[str, bytes, dict[str, str]]] = []

    async def capture(topic: str, payload: bytes, headers: dict[str, str]) -> None:
        dead.append((topic, payload, headers))

    h.consumer.bind_dead_letter(capture)
    return dead


async def test_purchase_of_an_unknown_publisher_stops_its_partition_until_the_catalog_knows_it() -> (
    None
):
    """Not dead-lettered: a catalog update may add the publisher, and later events of
    the subscription must not overtake its purchase."""
    h = Harness()
    dead = dead_letters(h)
    event: SubscriptionPurchased = purchase(publisher_id="nobody")

    with pytest.raises(PartitionStalled):
        await h.consumer.handle(event.to_bytes())

    assert dead == []
    [stall] = h.consumer.stalled.values()
    assert "nobody" in stall.last_error
    assert await h.events() == []
    assert await h.stored(event.subject) is None


@pytest.mark.parametrize(
    ("price", "currency"),
    [(Decimal("10.001"), "USD"), (Decimal("10.5"), "JPY"), (Decimal(1), "XXQ")],
)
async def test_a_price_its_currency_cannot_hold_is_dead_lettered(
    price: Decimal, currency: str
) -> None:
    h = Harness()
    dead = dead_letters(h)
    event = purchase(price_per_seat=price, currency=currency)

    assert await h.consumer.handle(event.to_bytes()) == "dead_lettered"

    assert "ValueError" in dead[0][2]["x-dlq-error"]
    assert await h.stored(event.subject) is None
    assert await h.events() == []


def test_the_purchase_becomes_a_command_in_minor_units() -> None:
    event = purchase(price_per_seat=Decimal("12.34"), auto_renew_enabled=False)
    command = provision_purchase(event)
    assert (command.subscription_id, command.price_per_seat_minor) == (event.subject, 1234)
    assert (command.auto_renew, command.correlation_id) == (False, event.correlation_id)
    assert command.customer_id == event.data.customer_id
