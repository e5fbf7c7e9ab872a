"""The envelope: camelCase on the wire, frozen, decoded back to its own type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.events import EventRegistry, SubscriptionPurchased, UnknownEventType
from shared.events.ordering import SubscriptionPurchasedData

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def purchase() -> SubscriptionPurchased:
    return SubscriptionPurchased(
        source="ordering",
        time=NOW,
        subject="sub-1",
        correlation_id="sub-1-purchase",
        data=SubscriptionPurchasedData(
            subscription_id="sub-1",
            order_id="o-1",
            line_item_number=0,
            csp_partner_id="p-1",
            customer_id="c-1",
            customer_name="Adatum",
            purchased_by="alice",
            publisher_id="contoso",
            offer_id="contoso-crm",
            offer_name="Contoso CRM",
            plan_id="standard",
            plan_name="Standard",
            quantity=5,
            term_duration="P1M",
            billing_cycle="monthly",
            currency="USD",
            price_per_seat=Decimal("10.00"),
            friendly_name="CRM",
            purchased_at=NOW,
            refundable_until=NOW,
        ),
    )


def test_the_envelope_is_camel_case_with_every_field() -> None:
    wire = json.loads(purchase().to_bytes())
    assert set(wire) == {
        "id",
        "type",
        "version",
        "source",
        "time",
        "subject",
        "correlationId",
        "causationId",
        "data",
    }
    assert wire["type"] == "SubscriptionPurchased"
    assert wire["data"]["pricePerSeat"] == "10.00"  # money never travels as a float
    assert wire["data"]["cspPartnerId"] == "p-1"


def test_an_event_round_trips_through_the_registry() -> None:
    event = purchase()
    decoded = EventRegistry(SubscriptionPurchased).decode(event.to_bytes())
    assert decoded == event
    assert isinstance(decoded, SubscriptionPurchased)


def test_events_are_immutable() -> None:
    with pytest.raises(ValidationError):
        purchase().subject = "other"  # type: ignore[misc]


def test_the_registry_refuses_unknown_types_distinctly_from_bad_ones() -> None:
    registry = EventRegistry(SubscriptionPurchased)
    with pytest.raises(UnknownEventType):
        registry.decode(b'{"type": "Nope"}')
    with pytest.raises(ValueError):
        registry.decode(b'{"type": "SubscriptionPurchased", "data": {}}')
