"""The event mapping: domain events -> wire events by field name, and wire -> commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Literal

import pytest

from shared.domain import DomainEvent
from shared.events.envelope import CamelModel, Event
from shared.messaging.mapping import EventMapping, command_from
from shared.service_layer import Command

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class ChargedData(CamelModel):
    subscription_id: str
    seats: int
    amount: Decimal  # a decimal string on the wire


class Charged(Event):
    TOPIC: ClassVar[str] = "test.charges"
    type: Literal["Charged"] = "Charged"
    data: ChargedData


class RefundedData(CamelModel):
    subscription_id: str
    seats: int


class Refunded(Event):
    TOPIC: ClassVar[str] = "test.charges"
    type: Literal["Refunded"] = "Refunded"
    data: RefundedData


class SeatsCharged(DomainEvent):
    seats: int
    amount_minor: int  # cents: the domain's money, not the wire's


class SeatsRefunded(DomainEvent):
    seats: int


class Unmapped(DomainEvent):
    pass


# Minor units (the domain's money) -> a Decimal (the wire's).
IN_DECIMAL = {SeatsCharged: lambda e: {"amount": Decimal(e.amount_minor) / 100}}


def to_wire(mapping: EventMapping, event: DomainEvent) -> Event:
    return mapping.to_wire(event, time=NOW, correlation_id="purchase-1", causation_id="ev-0")


def test_fields_are_carried_by_name_and_the_envelope_filled_in() -> None:
    mapping = EventMapping("billing", {SeatsRefunded: Refunded})

    wire = to_wire(mapping, SeatsRefunded("sub-1", seats=3))

    assert isinstance(wire, Refunded)
    assert wire.data == RefundedData(subscription_id="sub-1", seats=3)
    assert (wire.source, wire.subject, wire.time) == ("billing", "sub-1", NOW)
    assert (wire.correlation_id, wire.causation_id) == ("purchase-1", "ev-0")
    assert json.loads(wire.to_bytes())["data"] == {"subscriptionId": "sub-1", "seats": 3}


def test_convert_supplies_the_fields_that_differ() -> None:
    mapping = EventMapping("billing", {SeatsCharged: Charged}, convert=IN_DECIMAL)

    wire = to_wire(mapping, SeatsCharged("sub-1", seats=2, amount_minor=1999))

    assert wire.data == ChargedData(subscription_id="sub-1", seats=2, amount=Decimal("19.99"))
    assert json.loads(wire.to_bytes())["data"]["amount"] == "19.99"


def test_a_field_neither_carried_nor_converted_fails_loudly() -> None:
    mapping = EventMapping("billing", {SeatsCharged: Charged})  # forgot `amount`
    with pytest.raises(ValueError, match="amount"):
        to_wire(mapping, SeatsCharged("sub-1", seats=2, amount_minor=1999))


def test_an_unknown_domain_event_type_is_a_type_error() -> None:
    mapping = EventMapping("billing", {SeatsRefunded: Refunded})
    with pytest.raises(TypeError, match="Unmapped"):
        to_wire(mapping, Unmapped("sub-1"))


def test_publishes_lists_each_wire_type_once_and_merged_adds_another_mapping() -> None:
    charges = EventMapping(
        "billing", {SeatsCharged: Charged, SeatsRefunded: Refunded, Unmapped: Refunded}
    )
    assert charges.publishes == [Charged, Refunded]

    merged = EventMapping("billing", {SeatsRefunded: Refunded}).merged(
        EventMapping("elsewhere", {SeatsCharged: Charged}, convert=IN_DECIMAL)
    )
    assert merged.source == "billing"  # the service's own source for every event
    assert to_wire(merged, SeatsCharged("s", seats=1, amount_minor=100)).source == "billing"


class ChargeAgain(Command):
    subscription_id: str
    seats: int
    reason: str


def test_command_from_takes_fields_of_the_same_name_and_overrides_the_rest() -> None:
    data = ChargedData(subscription_id="sub-1", seats=4, amount=Decimal("1.00"))

    assert command_from(data, ChargeAgain, reason="renewal") == ChargeAgain("sub-1", 4, "renewal")
    assert command_from(data, ChargeAgain, seats=5, reason="x") == ChargeAgain("sub-1", 5, "x")


def test_command_from_without_a_field_it_needs_is_a_type_error() -> None:
    data = RefundedData(subscription_id="sub-1", seats=4)
    with pytest.raises(TypeError, match="reason"):
        command_from(data, ChargeAgain)
