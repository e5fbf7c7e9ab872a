"""Ordering's domain events -> its versioned wire events (`shared.events.ordering`).

The one place the domain and the wire contract meet (docs/architecture.md). Fields
are carried by name; the domain keeps money in minor units, the wire a decimal.
"""

from __future__ import annotations

from typing import Any

from services.ordering.domain import events
from services.ordering.domain.events import SubscriptionPurchased
from shared.events import ordering as wire
from shared.messaging.mapping import EventMapping
from shared.money import from_minor


def _price_per_seat(event: SubscriptionPurchased) -> dict[str, Any]:
    return {"price_per_seat": from_minor(event.price_per_seat_minor, event.currency)}


EVENTS = EventMapping(
    "ordering",
    {
        SubscriptionPurchased: wire.SubscriptionPurchased,
        # the partner's changes after purchase (docs/subscription-lifecycle.md)
        events.SubscriptionDetailsChanged: wire.SubscriptionDetailsChanged,
        events.QuantityChangeRequested: wire.QuantityChangeRequested,
        events.SuspensionRequested: wire.SuspensionRequested,
        events.ReinstatementRequested: wire.ReinstatementRequested,
        events.CancellationRequested: wire.CancellationRequested,
    },
    convert={SubscriptionPurchased: _price_per_seat},
)
