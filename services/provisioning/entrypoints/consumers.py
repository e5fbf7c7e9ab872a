"""Provisioning's consumer group: each wire event it follows -> the command it asks for.

`provisioning.purchases` reads `ordering.subscriptions`: a SubscriptionPurchased
becomes ProvisionPurchase (docs/architecture.md, "One subscription id", step 4), and
the partner's later requests become the commands that apply them, in the topic's
order (same key as the purchase, so always after it; docs/subscription-lifecycle.md).
Each is run by the bus with its inbox row. Other types on the topic are skipped. A
translation that raises ValueError (a price its currency cannot hold) dead-letters
the event.
"""

from __future__ import annotations

from services.provisioning.domain.commands import (
    Cancel,
    ChangeDetails,
    ProvisionPurchase,
    Reinstate,
    RequestQuantityChange,
    Suspend,
)
from shared.events.ordering import (
    CancellationRequested,
    QuantityChangeRequested,
    ReinstatementRequested,
    SubscriptionDetailsChanged,
    SubscriptionPurchased,
    SuspensionRequested,
)
from shared.events.topics import ORDERING_SUBSCRIPTIONS
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.mapping import command_from
from shared.money import to_minor

PURCHASES_CONSUMER = "provisioning.purchases"


def provision_purchase(event: SubscriptionPurchased) -> ProvisionPurchase:
    """The wire's decimal price becomes minor units; `auto_renew_enabled` is `auto_renew`."""
    data = event.data
    return command_from(
        data,
        ProvisionPurchase,
        price_per_seat_minor=to_minor(data.price_per_seat, data.currency),
        auto_renew=data.auto_renew_enabled,
        correlation_id=event.correlation_id,
    )


def change_details(event: SubscriptionDetailsChanged) -> ChangeDetails:
    return command_from(event.data, ChangeDetails, auto_renew=event.data.auto_renew_enabled)


def request_quantity_change(event: QuantityChangeRequested) -> RequestQuantityChange:
    return command_from(event.data, RequestQuantityChange)


def suspend(event: SuspensionRequested) -> Suspend:
    return command_from(event.data, Suspend)


def reinstate(event: ReinstatementRequested) -> Reinstate:
    return command_from(event.data, Reinstate)


def cancel(event: CancellationRequested) -> Cancel:
    return command_from(event.data, Cancel)


PURCHASES = ConsumerGroup(
    name=PURCHASES_CONSUMER,
    topic=ORDERING_SUBSCRIPTIONS,
    commands={
        SubscriptionPurchased: provision_purchase,
        SubscriptionDetailsChanged: change_details,
        QuantityChangeRequested: request_quantity_change,
        SuspensionRequested: suspend,
        ReinstatementRequested: reinstate,
        CancellationRequested: cancel,
    },
)
