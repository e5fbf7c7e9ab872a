"""Ordering's consumer groups: provisioning's facts feed the partner's subscription view.

Each wire event becomes the command it asks of ordering (fields carried by name,
`shared.messaging.mapping.command_from`); the bus runs it with the inbox row in one
transaction (docs/architecture.md, step 7). SubscriptionSuspended and
SubscriptionReinstated are not followed: ordering applied those when it decided them
(docs/subscription-lifecycle.md), so the consumer skips them.
"""

from __future__ import annotations

from services.ordering.domain.commands import (
    RecordActivation,
    RecordActivationLink,
    RecordCancellationScheduled,
    RecordEnd,
    RecordLicenses,
    RecordQuantityAccepted,
    RecordQuantityRejected,
    RecordRenewal,
)
from shared.events.provisioning import (
    ActivationCompleted,
    ActivationLinkIssued,
    CancellationScheduled,
    LicensesAssigned,
    QuantityChangeAccepted,
    QuantityChangeRejected,
    SubscriptionCancelled,
    SubscriptionExpired,
    SubscriptionRenewed,
)
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import ConsumerGroup
from shared.messaging.mapping import command_from

SUBSCRIPTION_VIEW = ConsumerGroup(
    name="ordering.subscription-view",
    topic=PROVISIONING_SUBSCRIPTIONS,
    commands={
        ActivationLinkIssued: lambda e: command_from(e.data, RecordActivationLink),
        LicensesAssigned: lambda e: command_from(e.data, RecordLicenses),
        ActivationCompleted: lambda e: command_from(e.data, RecordActivation),
        QuantityChangeAccepted: lambda e: command_from(e.data, RecordQuantityAccepted),
        QuantityChangeRejected: lambda e: command_from(e.data, RecordQuantityRejected),
        SubscriptionRenewed: lambda e: command_from(e.data, RecordRenewal),
        SubscriptionCancelled: lambda e: command_from(e.data, RecordEnd),
        SubscriptionExpired: lambda e: command_from(e.data, RecordEnd),
        CancellationScheduled: lambda e: command_from(e.data, RecordCancellationScheduled),
    },
)
