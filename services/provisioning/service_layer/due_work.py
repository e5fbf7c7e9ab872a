"""Provisioning's due work: what falls due with business time (docs/subscription-
lifecycle.md, "Due work and the test clock").

`shared.due_work.DueWorkRunner` calls each piece every second and right after the test
clock moved, one pass at a time, in this order:

1. webhook deliveries and retries: so a publisher's 4xx reply to a seat change counts
   before silence can accept it in the same pass;
2. acceptance timeouts: before term ends, so a seat change accepted by silence during
   the term is renewed with its new quantity;
3. term ends: renewals and expiries.

Each finds what is due through a query and commits each item through its own command,
so one bad item never blocks the rest, and every command is idempotent: a repeated pass,
or a second replica, changes nothing twice. Webhooks are POSTed outside any store
transaction; only their outcomes are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

import structlog

from services.provisioning.domain.commands import AcceptSilentChange, EndTerms, RecordDelivery
from services.provisioning.domain.model import SaasSubscription
from services.provisioning.domain.operations import DeliveryAttempt, Operation
from services.provisioning.service_layer import queries
from shared.due_work import DueWork, each_due
from shared.service_layer import MessageBus

log = structlog.get_logger(__name__)


class WebhookSender(Protocol):
    """Posts one operation's webhook to its publisher; never raises: every failure is
    an attempt that came to `failed` (adapters/webhooks.py)."""

    async def send(
        self, operation: Operation, subscription: SaasSubscription
    ) -> DeliveryAttempt: ...


async def deliver_webhooks(bus: MessageBus, webhooks: WebhookSender, now: datetime) -> None:
    """The due webhooks (one per subscription), posted concurrently, outcomes recorded."""
    due: list[queries.Delivery] = await bus.handle(queries.DueDeliveries(now))

    async def send(delivery: queries.Delivery) -> DeliveryAttempt:
        with about(delivery.subscription):
            return await webhooks.send(delivery.operation, delivery.subscription)

    attempts = await asyncio.gather(*(send(d) for d in due))
    for delivery, attempt in zip(due, attempts, strict=True):
        operation = delivery.operation
        with about(delivery.subscription):
            await _each(
                bus,
                RecordDelivery(
                    operation.id, operation.delivery_attempts + 1, attempt.outcome, attempt.detail
                ),
            )


def about(subscription: SaasSubscription) -> AbstractContextManager[object]:
    """Log lines of due work on one subscription carry its purchase's correlation id, as
    the lines of its requests and events do."""
    return structlog.contextvars.bound_contextvars(
        correlation_id=subscription.correlation_id, subscription_id=subscription.id
    )


async def accept_silent_changes(bus: MessageBus, now: datetime) -> None:
    for operation_id in await bus.handle(queries.SilentSeatChanges(now)):
        await _each(bus, AcceptSilentChange(operation_id))


async def end_terms(bus: MessageBus, now: datetime) -> None:
    async def ended(limit: int) -> list[str]:
        found: list[str] = await bus.handle(queries.EndedTerms(now=now, limit=limit))
        return found

    async def end(subscription_id: str) -> None:
        await _each(bus, EndTerms(subscription_id))

    await each_due(ended, end, key=str)


async def _each(bus: MessageBus, command: RecordDelivery | AcceptSilentChange | EndTerms) -> None:
    """One item: a failure is logged and the item stays due for the next pass."""
    try:
        await bus.handle(command)
    except Exception:
        log.exception("due_item_failed", command=repr(command))


def due_work(bus: MessageBus, dependencies: Mapping[str, Any]) -> Sequence[DueWork]:
    """`ServiceDefinition.due_work`: the pieces, bound to the bus and the webhook sender."""
    webhooks: WebhookSender = dependencies["webhooks"]

    async def webhook_deliveries(now: datetime) -> None:
        await deliver_webhooks(bus, webhooks, now)

    async def acceptance_timeouts(now: datetime) -> None:
        await accept_silent_changes(bus, now)

    async def term_ends(now: datetime) -> None:
        await end_terms(bus, now)

    return [webhook_deliveries, acceptance_timeouts, term_ends]
