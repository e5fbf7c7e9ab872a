"""Billing's due work: charge each period of a term billed in several periods (an
annual term billed monthly) when it starts.

Every pass (each second, and right after the test clock moved) asks which active
subscriptions have a period that started by now and is not charged, then charges each
subscription in its own unit of work, all of its started periods (several after a long
jump of the clock), one invoice per period. Idempotent: the subscription remembers what
it charged, and the store's unique index refuses a period's charge twice even if two
passes (two replicas) raced for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from services.billing.domain.commands import ChargeDuePeriods
from services.billing.service_layer.posting import charge_due_periods
from services.billing.service_layer.queries import DueSubscription, DueSubscriptions
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.clock import Clock
from shared.due_work import DueWork, each_due
from shared.service_layer import Cause, MessageBus

log = structlog.get_logger(__name__)


async def charge_started_periods(
    command: ChargeDuePeriods, uow: BillingUnitOfWork, clock: Clock
) -> int:
    """The handler of ChargeDuePeriods: how many periods it charged."""
    subscription = await uow.subscriptions.get(command.subscription_id)
    if subscription is None:
        return 0
    return await charge_due_periods(uow, subscription, until=command.until, now=clock.now())


def due_work(bus: MessageBus, dependencies: Mapping[str, Any]) -> Sequence[DueWork]:
    async def charge_periods_that_started(now: datetime) -> None:
        async def due_now(limit: int) -> list[DueSubscription]:
            found: list[DueSubscription] = await bus.handle(DueSubscriptions(now, limit))
            return found

        async def charge(due: DueSubscription) -> None:
            # What it emits carries the purchase's correlation id; no event caused it.
            cause = Cause(correlation_id=due.correlation_id)
            with structlog.contextvars.bound_contextvars(  # its log lines, like its events
                correlation_id=due.correlation_id, subscription_id=due.subscription_id
            ):
                try:
                    await bus.handle(ChargeDuePeriods(due.subscription_id, now), cause=cause)
                except Exception:  # one subscription's failure must not hold up the others
                    log.exception("due_periods_not_charged")

        await each_due(due_now, charge, key=lambda due: due.subscription_id)

    return [charge_periods_that_started]
