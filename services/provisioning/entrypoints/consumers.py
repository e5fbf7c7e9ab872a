"""Provisioning's consumer group: each wire event it follows -> the command it asks for.

`provisioning.purchases` reads `ordering.subscriptions`; a SubscriptionPurchased
becomes ProvisionPurchase, run by the bus with its inbox row (docs/architecture.md,
"One subscription id", step 4). Other types on the topic are skipped. A translation
that raises ValueError (a price its currency cannot hold) dead-letters the event.
"""

from __future__ import annotations

from services.provisioning.domain.commands import ProvisionPurchase
from shared.events.ordering import SubscriptionPurchased
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


PURCHASES = ConsumerGroup(
    name=PURCHASES_CONSUMER,
    topic=ORDERING_SUBSCRIPTIONS,
    commands={SubscriptionPurchased: provision_purchase},
)
