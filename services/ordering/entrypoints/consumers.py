"""Event consumers of ordering: provisioning's facts feed the partner's subscription view."""

from __future__ import annotations

from services.ordering.service_layer import subscription_view
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import DeadLetter, EventConsumer
from shared.store.port import Store

SUBSCRIPTION_VIEW = "ordering.subscription-view"  # consumer group id and inbox key


def subscription_view_consumer(
    store: Store, dead_letter: DeadLetter | None = None
) -> EventConsumer:
    """`dead_letter` is set by the runtime when it subscribes; tests may pass their own."""
    return EventConsumer(
        name=SUBSCRIPTION_VIEW,
        topic=PROVISIONING_SUBSCRIPTIONS,
        store=store,
        handlers={
            ActivationLinkIssued: subscription_view.on_activation_link_issued,
            LicensesAssigned: subscription_view.on_licenses_assigned,
            ActivationCompleted: subscription_view.on_activation_completed,
        },
        dead_letter=dead_letter,
    )
