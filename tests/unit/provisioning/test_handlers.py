"""The use cases behind the routes, through the message bus: rules live here, not in routes,
and a state change commits together with the events it recorded, or not at all."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.adapters.wire_events import EVENTS
from services.provisioning.bootstrap import DEFINITION
from services.provisioning.domain.commands import (
    AssignLicenses,
    ChangeByPublisher,
    ConfirmActivation,
)
from services.provisioning.domain.events import ActivationCompleted
from services.provisioning.domain.licenses import LicenseAssignment
from services.provisioning.domain.model import NotYourSubscription
from services.provisioning.service_layer import HANDLERS, handlers
from services.provisioning.service_layer.queries import ListAvailablePlans
from services.provisioning.service_layer.unit_of_work import ProvisioningUnitOfWork
from shared.domain import DomainEvent
from shared.errors import NotFound, RuleBroken
from shared.events.envelope import Event
from shared.messaging.mapping import EventMapping
from shared.service import build_bus
from shared.service_layer import MessageBus
from tests.unit.provisioning.support import CATALOG, SETTINGS, Harness, purchase

ONE_SEAT = (LicenseAssignment(user_id="u1"),)


class _FailsOnCompletion(EventMapping):
    """The real mapping, except that ActivationCompleted cannot be written."""

    def to_wire(self, event: DomainEvent, **envelope: Any) -> Event:
        if isinstance(event, ActivationCompleted):
            raise RuntimeError("outbox write failed")
        return EVENTS.to_wire(event, **envelope)


def bus_of(h: Harness, events: EventMapping = EVENTS) -> MessageBus:
    tokens = PurchaseTokens(SETTINGS.csp_purchase_token_secret, "P7D", h.clock)
    service = dataclasses.replace(DEFINITION, events=events)
    dependencies = {"catalog": CATALOG, "tokens": tokens, "page_size": 100}
    return build_bus(service, h.store, h.clock, dependencies)


async def pending(h: Harness) -> str:
    event = purchase(quantity=3)
    await h.purchased(event)
    return event.subject


def test_publisher_changes_have_their_own_handler() -> None:
    assert HANDLERS[ChangeByPublisher] is handlers.change_by_publisher


async def test_the_handler_refuses_publisher_changes_as_a_broken_rule() -> None:
    h = Harness()
    sid = await pending(h)
    with pytest.raises(RuleBroken, match="only Read"):
        await bus_of(h).handle(ChangeByPublisher(sid, "contoso"))


async def test_publisher_changes_check_existence_and_ownership_first() -> None:
    h = Harness()
    sid = await pending(h)
    with pytest.raises(NotYourSubscription):
        await bus_of(h).handle(ChangeByPublisher(sid, "fabrikam"))
    with pytest.raises(NotFound):
        await bus_of(h).handle(ChangeByPublisher("no-such-subscription", "contoso"))


async def test_activation_and_its_completed_event_commit_together() -> None:
    h = Harness()
    sid = await pending(h)
    await bus_of(h).handle(AssignLicenses(sid, "contoso", ONE_SEAT))
    await h.events()

    with pytest.raises(RuntimeError, match="outbox write failed"):
        await bus_of(h, _FailsOnCompletion("provisioning", {})).handle(
            ConfirmActivation(sid, "contoso", "standard", 3)
        )
    stored = await h.stored(sid)
    assert stored is not None and stored.status == "PendingFulfillmentStart"
    assert stored.activation_confirmed_at is None  # the state change was rolled back
    assert await h.events() == []  # and no row went to the outbox

    await bus_of(h).handle(ConfirmActivation(sid, "contoso", "standard", 3))
    stored = await h.stored(sid)
    assert stored is not None and stored.status == "Subscribed"
    (completed,) = await h.events()
    assert completed.type == "ActivationCompleted"
    assert isinstance(stored.term_start, datetime)
    assert completed.data.term_start == stored.term_start


async def test_a_refused_command_saves_nothing_and_emits_nothing() -> None:
    h = Harness()
    sid = await pending(h)
    with pytest.raises(RuleBroken):
        await bus_of(h).handle(AssignLicenses(sid, "contoso", ONE_SEAT * 2))
    stored = await h.stored(sid)
    assert stored is not None and stored.licenses == ()
    assert await h.events() == []


async def test_available_plans_come_from_the_catalog_dependency() -> None:
    h = Harness()
    sid = await pending(h)
    plans = await bus_of(h).handle(ListAvailablePlans(sid, "contoso", "premium"))
    assert [p.plan_id for p in plans] == ["premium"]
    assert plans == [CATALOG.offer("contoso-crm").plan("premium")]  # type: ignore[union-attr]


async def test_the_unit_of_work_names_its_repository() -> None:
    h = Harness()
    sid = await pending(h)
    async with ProvisioningUnitOfWork(h.store, events=EVENTS, clock=h.clock) as uow:
        assert [s.id for s in await uow.subscriptions.for_publisher("contoso")] == [sid]
        assert await uow.subscriptions.for_publisher("fabrikam") == []
