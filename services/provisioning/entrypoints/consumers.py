"""Kafka consumers of provisioning: thin maps from event types to use cases."""

from __future__ import annotations

from services.provisioning.adapters.purchase_tokens import PurchaseTokens
from services.provisioning.service_layer.purchases import provision_purchase
from shared.catalog import Catalog
from shared.clock import Clock
from shared.events.ordering import SubscriptionPurchased
from shared.events.topics import ORDERING_SUBSCRIPTIONS
from shared.messaging.consumer import EventConsumer
from shared.store.port import Store, UnitOfWork

PURCHASES_CONSUMER = "provisioning.purchases"


def purchases_consumer(
    *, store: Store, catalog: Catalog, tokens: PurchaseTokens, clock: Clock
) -> EventConsumer:
    async def on_purchase(event: SubscriptionPurchased, uow: UnitOfWork) -> None:
        await provision_purchase(event, uow, catalog=catalog, tokens=tokens, clock=clock)

    return EventConsumer(
        name=PURCHASES_CONSUMER,
        topic=ORDERING_SUBSCRIPTIONS,
        store=store,
        handlers={SubscriptionPurchased: on_purchase},
    )
