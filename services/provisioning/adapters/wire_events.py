"""Provisioning's domain events -> its wire events on `provisioning.subscriptions`.

The one place the domain meets the wire contract (`shared/events/provisioning.py`):
fields travel by name; `convert` supplies the two that differ. The domain keeps money
in minor units (the wire carries a decimal `price_per_seat`) and calls the renewal
flag `auto_renew` (the wire's `auto_renew_enabled`). The facts after activation
(seat changes, suspension, cancellation, renewal, expiry) carry every field by name.
"""

from __future__ import annotations

from typing import Any

from services.provisioning.domain import events
from shared.events import provisioning as wire
from shared.messaging.mapping import EventMapping
from shared.money import from_minor

SOURCE = "provisioning"


def _completed(event: events.ActivationCompleted) -> dict[str, Any]:
    return {
        "price_per_seat": from_minor(event.price_per_seat_minor, event.currency),
        "auto_renew_enabled": event.auto_renew,
    }


EVENTS = EventMapping(
    SOURCE,
    {
        events.ActivationLinkIssued: wire.ActivationLinkIssued,
        events.LicensesAssigned: wire.LicensesAssigned,
        events.ActivationCompleted: wire.ActivationCompleted,
        events.QuantityChangeAccepted: wire.QuantityChangeAccepted,
        events.QuantityChangeRejected: wire.QuantityChangeRejected,
        events.SubscriptionSuspended: wire.SubscriptionSuspended,
        events.SubscriptionReinstated: wire.SubscriptionReinstated,
        events.SubscriptionCancelled: wire.SubscriptionCancelled,
        events.CancellationScheduled: wire.CancellationScheduled,
        events.SubscriptionRenewed: wire.SubscriptionRenewed,
        events.SubscriptionExpired: wire.SubscriptionExpired,
    },
    convert={events.ActivationCompleted: _completed},
)
