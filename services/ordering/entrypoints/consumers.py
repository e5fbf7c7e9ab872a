"""Ordering's consumer groups: provisioning's facts feed the partner's subscription view.

Each wire event becomes the command it asks of ordering (fields carried by name,
`shared.messaging.mapping.command_from`); the bus runs it with the inbox row in one
transaction (docs/architecture.md, step 7).
"""

from __future__ import annotations

from services.ordering.domain.commands import (
    RecordActivation,
    RecordActivationLink,
    RecordLicenses,
)
from shared.events.provisioning import ActivationCompleted, ActivationLinkIssued, LicensesAssigned
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
    },
)
