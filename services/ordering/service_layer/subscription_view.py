"""The partner's view follows provisioning's facts about each subscription.

The consumer `ordering.subscription-view` (`entrypoints/consumers.py`) turns each
of provisioning's events into one of these commands; the bus runs it with the
consumer's inbox row in one transaction. Only what ordering did not decide itself is
followed (docs/subscription-lifecycle.md): activation, a seat change's outcome, the
renewals and the end; suspend, reactivate and cancel it applied when it decided them. A fact about a subscription ordering never
sold (another environment, a replay of a foreign topic) is logged and ignored: it
is not a poison message. The view records no events: it emits nothing.
"""

from __future__ import annotations

import structlog

from services.ordering.domain.commands import (
    RecordActivation,
    RecordActivationLink,
    RecordCancellationScheduled,
    RecordEnd,
    RecordLicenses,
    RecordQuantityAccepted,
    RecordQuantityRejected,
    RecordRenewal,
    UpdateView,
)
from services.ordering.domain.subscription import Subscription
from services.ordering.service_layer.unit_of_work import OrderingUnitOfWork

log = structlog.get_logger(__name__)


async def _followed(uow: OrderingUnitOfWork, command: UpdateView) -> Subscription | None:
    subscription = await uow.subscriptions.get(command.subscription_id)
    if subscription is None:
        log.warning(
            "subscription_event_for_unknown_subscription",
            command=type(command).__name__,
            subscription_id=command.subscription_id,
        )
        return None
    uow.after_commit(
        lambda: log.info(
            "subscription_view_updated",
            command=type(command).__name__,
            subscription_id=subscription.id,
            status=subscription.status,
        )
    )
    return subscription


async def record_activation_link(command: RecordActivationLink, uow: OrderingUnitOfWork) -> None:
    if (subscription := await _followed(uow, command)) is not None:
        subscription.record_activation_link(command.link)


async def record_licenses(command: RecordLicenses, uow: OrderingUnitOfWork) -> None:
    if (subscription := await _followed(uow, command)) is not None:
        subscription.record_licenses(command.assigned_count)


async def record_activation(command: RecordActivation, uow: OrderingUnitOfWork) -> None:
    if (subscription := await _followed(uow, command)) is not None:
        subscription.record_activation(
            command.term_start, command.term_end, command.licenses_assigned
        )


def _ignored_as_stale(command: UpdateView, operation_id: str) -> None:
    """A decision about an older request than ordering's latest: following it would
    undo what the partner did since."""
    log.info(
        "subscription_fact_ignored_as_stale",
        command=type(command).__name__,
        subscription_id=command.subscription_id,
        operation_id=operation_id,
    )


async def record_quantity_accepted(
    command: RecordQuantityAccepted, uow: OrderingUnitOfWork
) -> None:
    subscription = await _followed(uow, command)
    if subscription is not None and not subscription.record_quantity_accepted(
        command.operation_id, command.quantity, command.accepted_at
    ):
        _ignored_as_stale(command, command.operation_id)


async def record_quantity_rejected(
    command: RecordQuantityRejected, uow: OrderingUnitOfWork
) -> None:
    subscription = await _followed(uow, command)
    if subscription is not None and not subscription.record_quantity_rejected(
        command.operation_id, command.quantity, command.rejected_at, command.reason
    ):
        _ignored_as_stale(command, command.operation_id)


async def record_renewal(command: RecordRenewal, uow: OrderingUnitOfWork) -> None:
    if (subscription := await _followed(uow, command)) is not None:
        subscription.record_renewal(command.term_end)


async def record_end(command: RecordEnd, uow: OrderingUnitOfWork) -> None:
    if (subscription := await _followed(uow, command)) is not None:
        subscription.record_end()


async def record_cancellation_scheduled(
    command: RecordCancellationScheduled, uow: OrderingUnitOfWork
) -> None:
    subscription = await _followed(uow, command)
    if subscription is not None and not subscription.record_cancellation_scheduled(
        command.operation_id
    ):
        _ignored_as_stale(command, command.operation_id)
