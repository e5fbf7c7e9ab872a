"""Billing starts on StartBilling (ActivationCompleted), and only there.

What follows the activation is in `facts.py` (provisioning's facts) and `due_work.py`
(periods that start with business time); all of it posts through `posting.py`. The
unit of work saves what it touched and writes the recorded events at commit.
"""

from __future__ import annotations

import structlog

from services.billing.domain.commands import StartBilling
from services.billing.domain.subscription import BilledSubscription
from services.billing.service_layer.posting import post_period_and_invoice
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.clock import Clock
from shared.domain.record import plain_fields

log = structlog.get_logger(__name__)


async def start_billing(command: StartBilling, uow: BillingUnitOfWork, clock: Clock) -> None:
    """Remember the subscription, charge its first period, invoice it."""
    if await uow.subscriptions.get(command.subscription_id) is not None:
        # A subscription activates once; a second ActivationCompleted (another id, so
        # the inbox let it through) must not bill the first period again.
        log.warning(
            "activation_already_billed",
            subscription_id=command.subscription_id,
            event_id=command.activation_id,
        )
        return
    # The command carries the subscription's facts by their names (the activation's id
    # is no fact of it: ignored); InvalidSubscription when they cannot be billed.
    facts = {**plain_fields(command), "id": command.subscription_id}
    subscription = await uow.subscriptions.add(BilledSubscription.model_validate(facts))
    await post_period_and_invoice(
        uow,
        subscription,
        subscription.first_period(),
        line_type="charge",
        cause_id=command.activation_id,
        now=clock.now(),
    )
