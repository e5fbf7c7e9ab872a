"""Handlers of everything that becomes an operation: the partner's requests, the
publisher's answers, and what the due work decides (webhook outcomes, silence, term ends).

Provisioning sequences the partner's requests in the topic's order and owns the
outcome (docs/subscription-lifecycle.md). A request is idempotent by its operation id:
seen again, it changes nothing. A request whose precondition no longer holds here is
logged and changes nothing, except a seat change, which is rejected with a reason.
"""

from __future__ import annotations

import structlog

from services.provisioning.domain.commands import (
    AcceptSilentChange,
    AnswerOperation,
    Cancel,
    ChangeDetails,
    EndTerms,
    PartnerRequest,
    RecordDelivery,
    Reinstate,
    RequestQuantityChange,
    Suspend,
)
from services.provisioning.domain.model import SaasSubscription, WrongState
from services.provisioning.domain.operations import OperationNotInProgress
from services.provisioning.service_layer.queries import load_operation, load_owned
from services.provisioning.service_layer.unit_of_work import ProvisioningUnitOfWork
from shared.catalog import Catalog
from shared.catalog.model import Offer
from shared.errors import NotFound, RuleBroken
from shared.periods import add

log = structlog.get_logger(__name__)

DEFAULT_ACCEPTANCE_TIMEOUT: str = Offer.model_fields["acceptance_timeout"].default
REJECTED_BY_PUBLISHER = "rejected by the publisher"


async def _requested(
    uow: ProvisioningUnitOfWork, command: PartnerRequest
) -> SaasSubscription | None:
    """The subscription a request is about, or None if its operation exists already.
    An unknown subscription is NotFound: the consumer stops its partition on it and
    retries (the purchase, on the same key, always comes first, so this is lost state or
    a bug to fix, never an event to throw away)."""
    if await uow.operations.get(command.operation_id) is not None:
        log.info("request_already_applied", operation_id=command.operation_id)
        return None
    subscription = await uow.subscriptions.get(command.subscription_id)
    if subscription is None:
        raise NotFound(f"subscription {command.subscription_id} not found", "subscriptionId")
    return subscription


def _refused(command: PartnerRequest, refusal: WrongState) -> None:
    log.warning(
        "request_not_applicable",
        request=type(command).__name__,
        subscription_id=command.subscription_id,
        operation_id=command.operation_id,
        reason=refusal.message,
    )


async def change_details(command: ChangeDetails, uow: ProvisioningUnitOfWork) -> None:
    subscription = await _requested(uow, command)
    if subscription is not None:
        subscription.change_details(
            command.friendly_name, command.reseller_mpn_id, command.auto_renew
        )


async def request_quantity_change(
    command: RequestQuantityChange, uow: ProvisioningUnitOfWork, catalog: Catalog
) -> None:
    """A ChangeQuantity operation, InProgress until the offer's acceptance timeout."""
    subscription = await _requested(uow, command)
    if subscription is None:
        return
    now = uow.clock.now()
    offer = catalog.offer(subscription.offer_id)
    timeout = offer.acceptance_timeout if offer is not None else DEFAULT_ACCEPTANCE_TIMEOUT
    operation = subscription.request_quantity_change(
        command.operation_id,
        command.quantity,
        now,
        deadline=add(now, timeout),
        pending=await uow.operations.in_progress_for(subscription.id),
    )
    await uow.operations.add(operation)
    if operation.status == "Failed":
        log.warning(
            "seat_change_refused",
            subscription_id=subscription.id,
            operation_id=operation.id,
            reason=operation.last_error,
        )


async def suspend(command: Suspend, uow: ProvisioningUnitOfWork) -> None:
    subscription = await _requested(uow, command)
    if subscription is None:
        return
    pending = await uow.operations.in_progress_for(subscription.id)
    try:
        operation = subscription.suspend(command.operation_id, uow.clock.now(), pending=pending)
    except WrongState as refusal:
        _refused(command, refusal)
        return
    await uow.operations.add(operation)


async def reinstate(command: Reinstate, uow: ProvisioningUnitOfWork) -> None:
    subscription = await _requested(uow, command)
    if subscription is None:
        return
    try:
        operation = subscription.reinstate(command.operation_id, uow.clock.now())
    except WrongState as refusal:
        _refused(command, refusal)
        return
    await uow.operations.add(operation)


async def cancel(command: Cancel, uow: ProvisioningUnitOfWork) -> None:
    """Immediate: Unsubscribed now (with an operation and webhook). Scheduled: auto-renew
    off; the term end expires it (no operation now: the expiry will be one)."""
    subscription = await _requested(uow, command)
    if subscription is None:
        return
    try:
        if not command.immediate:
            subscription.schedule_cancellation(command.operation_id)
            return
        pending = await uow.operations.in_progress_for(subscription.id)
        operation = subscription.cancel_now(command.operation_id, uow.clock.now(), pending=pending)
    except WrongState as refusal:
        _refused(command, refusal)
        return
    await uow.operations.add(operation)


async def answer_operation(command: AnswerOperation, uow: ProvisioningUnitOfWork) -> None:
    """The publisher's PATCH of an operation: 404 / 403 first, then the body (400), then
    the state (409 once decided)."""
    subscription = await load_owned(uow, command.subscription_id, command.publisher_id)
    operation = await load_operation(uow, subscription, command.operation_id)
    if command.plan_id is not None and command.plan_id != operation.plan_id:
        raise RuleBroken(
            f"planId {command.plan_id!r} is not the operation's {operation.plan_id!r}", "planId"
        )
    if command.quantity is not None and command.quantity != operation.quantity:
        raise RuleBroken(
            f"quantity {command.quantity} is not the operation's {operation.quantity}",
            "quantity",
        )
    if operation.action != "ChangeQuantity" or not operation.in_progress:
        raise OperationNotInProgress(operation)
    now = uow.clock.now()
    if command.success:
        subscription.accept_quantity_change(operation, "publisher", now)
    else:
        subscription.reject_quantity_change(operation, REJECTED_BY_PUBLISHER, now)


async def record_delivery(command: RecordDelivery, uow: ProvisioningUnitOfWork) -> None:
    """One webhook attempt's outcome. A 4xx reply to a seat change still waiting is the
    publisher's refusal; to anything else it only ends the retries."""
    operation = await uow.operations.get(command.operation_id)
    if operation is None:
        log.warning("delivery_of_unknown_operation", operation_id=command.operation_id)
        return
    now = uow.clock.now()
    if not operation.record_attempt(command.attempt, command.outcome, command.detail, now):
        log.info("delivery_already_recorded", operation_id=operation.id, attempt=command.attempt)
        return
    log.info(
        "webhook_attempted",
        subscription_id=operation.subscription_id,
        operation_id=operation.id,
        action=operation.action,
        attempt=command.attempt,
        outcome=command.outcome,
        delivery_state=operation.delivery_state,
        detail=command.detail,
    )
    if command.outcome == "rejected" and operation.action == "ChangeQuantity":
        subscription = await uow.subscriptions.get(operation.subscription_id)
        if subscription is not None and operation.in_progress:
            reason = f"rejected by the publisher's webhook ({command.detail})"
            subscription.reject_quantity_change(operation, reason, now)


async def accept_silent_change(command: AcceptSilentChange, uow: ProvisioningUnitOfWork) -> None:
    """Silence until the deadline accepts, effective at the deadline: a clock jump far
    past it still prices the change from when silence became the answer."""
    operation = await uow.operations.get(command.operation_id)
    if operation is None or not operation.silence_accepts(uow.clock.now()):
        return  # decided meanwhile, or a repeated pass
    subscription = await uow.subscriptions.get(operation.subscription_id)
    if subscription is None:
        return
    assert operation.acceptance_deadline is not None  # silence_accepts
    subscription.accept_quantity_change(operation, "timeout", operation.acceptance_deadline)


async def end_terms(command: EndTerms, uow: ProvisioningUnitOfWork) -> None:
    subscription = await uow.subscriptions.get(command.subscription_id)
    if subscription is None or not subscription.term_ended_by(uow.clock.now()):
        return  # a repeated pass: the term moved on already
    pending = await uow.operations.in_progress_for(subscription.id)
    for operation in subscription.end_terms(uow.clock.now(), pending=pending):
        await uow.operations.add(operation)
        log.info(
            "term_ended",
            subscription_id=subscription.id,
            correlation_id=subscription.correlation_id,  # due work: no request or event bound it
            operation_id=operation.id,
            action=operation.action,
            term_end=operation.time_stamp.isoformat(),
        )
