"""Kafka entrypoint: billing follows provisioning's facts about each subscription.

One consumer group for all of them, so billing applies them in the topic's order (one
key, one partition): ActivationCompleted always before what follows it. Its id stays
"billing.activations", the group's name from when it read activations only: renaming
it would make Kafka start a new group at the topic's beginning and the inbox forget
what it had handled. Types not registered here (ActivationLinkIssued,
LicensesAssigned, QuantityChangeRejected, ...) are skipped by EventConsumer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.billing.domain import commands
from shared.events import provisioning as facts
from shared.events.envelope import Event
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.mapping import command_from
from shared.money import to_minor

SUBSCRIPTION_FACTS_GROUP = "billing.activations"


def command_for(event: facts.ActivationCompleted) -> commands.StartBilling:
    """The wire facts as a command, money in minor units. A price the currency cannot
    hold (or an unknown currency) raises ValueError: the consumer dead-letters it."""
    data = event.data
    return command_from(
        data,
        commands.StartBilling,
        activation_id=str(event.id),
        correlation_id=event.correlation_id,
        price_per_seat=to_minor(data.price_per_seat, data.currency),
    )


def following(kind: type[commands.FollowFact]) -> Callable[[Any], commands.FollowFact]:
    """A fact -> the command of the same fields, naming the event that carried it."""

    def translate(event: Event) -> commands.FollowFact:
        return command_from(event.data, kind, event_id=str(event.id))

    translate.__name__ = f"to_{kind.__name__}"
    return translate


SUBSCRIPTION_FACTS = ConsumerGroup(
    name=SUBSCRIPTION_FACTS_GROUP,
    topic=PROVISIONING_SUBSCRIPTIONS,
    commands={
        facts.ActivationCompleted: command_for,
        facts.QuantityChangeAccepted: following(commands.ApplyQuantityChange),
        facts.SubscriptionSuspended: following(commands.SuspendBilling),
        facts.SubscriptionReinstated: following(commands.ReinstateBilling),
        facts.SubscriptionCancelled: following(commands.CancelBilling),
        facts.CancellationScheduled: following(commands.RecordScheduledCancellation),
        facts.SubscriptionRenewed: following(commands.RenewTerm),
        facts.SubscriptionExpired: following(commands.EndBilling),
    },
)
