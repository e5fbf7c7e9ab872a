"""Kafka entrypoint: billing starts on ActivationCompleted and on nothing else.

Only ActivationCompleted is registered, so every other type on the topic
(ActivationLinkIssued, LicensesAssigned, ...) is skipped by EventConsumer.
"""

from __future__ import annotations

from services.billing.domain.commands import StartBilling
from shared.events.provisioning import ActivationCompleted
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.mapping import command_from
from shared.money import to_minor

ACTIVATIONS_GROUP = "billing.activations"


def command_for(event: ActivationCompleted) -> StartBilling:
    """The wire facts as a command, money in minor units. A price the currency cannot
    hold (or an unknown currency) raises ValueError: the consumer dead-letters it."""
    data = event.data
    return command_from(
        data,
        StartBilling,
        activation_id=str(event.id),
        correlation_id=event.correlation_id,
        price_per_seat=to_minor(data.price_per_seat, data.currency),
    )


ACTIVATIONS = ConsumerGroup(
    name=ACTIVATIONS_GROUP,
    topic=PROVISIONING_SUBSCRIPTIONS,
    commands={ActivationCompleted: command_for},
)
