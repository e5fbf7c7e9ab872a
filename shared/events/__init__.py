"""Event contracts shared by all services: one envelope, typed payloads, a registry."""

from shared.events.billing import ChargePosted, CreditNoteIssued, InvoiceIssued
from shared.events.envelope import CamelModel, Event
from shared.events.ordering import (
    CancellationRequested,
    QuantityChangeRequested,
    ReinstatementRequested,
    SubscriptionDetailsChanged,
    SubscriptionPurchased,
    SuspensionRequested,
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
    SubscriptionReinstated,
    SubscriptionRenewed,
    SubscriptionSuspended,
)
from shared.events.registry import EventRegistry, UnknownEventType

__all__ = [
    "ActivationCompleted",
    "ActivationLinkIssued",
    "CamelModel",
    "CancellationRequested",
    "CancellationScheduled",
    "ChargePosted",
    "CreditNoteIssued",
    "Event",
    "EventRegistry",
    "InvoiceIssued",
    "LicensesAssigned",
    "QuantityChangeAccepted",
    "QuantityChangeRejected",
    "QuantityChangeRequested",
    "ReinstatementRequested",
    "SubscriptionCancelled",
    "SubscriptionDetailsChanged",
    "SubscriptionExpired",
    "SubscriptionPurchased",
    "SubscriptionReinstated",
    "SubscriptionRenewed",
    "SubscriptionSuspended",
    "SuspensionRequested",
    "UnknownEventType",
]
