"""Kafka entrypoint: billing starts on ActivationCompleted and on nothing else.

Only ActivationCompleted is registered, so every other type on the topic
(ActivationLinkIssued, LicensesAssigned, ...) is skipped by EventConsumer.
"""

from __future__ import annotations

from services.billing.domain.subscription import InvalidSubscription
from services.billing.service_layer.activation import start_billing
from shared.clock import Clock
from shared.events.provisioning import ActivationCompleted
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import DeadLetter, EventConsumer, PermanentFailure
from shared.store.port import Store, UnitOfWork

ACTIVATIONS_GROUP = "billing.activations"


def activation_consumer(
    store: Store, clock: Clock, dead_letter: DeadLetter | None = None
) -> EventConsumer:
    """`dead_letter` is bound by the runtime on subscribe; tests pass their own."""

    async def on_activation_completed(event: ActivationCompleted, uow: UnitOfWork) -> None:
        try:
            await start_billing(uow, event, clock)
        except InvalidSubscription as error:  # retrying cannot fix bad facts: dead-letter
            raise PermanentFailure(str(error)) from error

    return EventConsumer(
        name=ACTIVATIONS_GROUP,
        topic=PROVISIONING_SUBSCRIPTIONS,
        store=store,
        handlers={ActivationCompleted: on_activation_completed},
        dead_letter=dead_letter,
    )
