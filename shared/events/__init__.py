"""Event contracts shared by all services: one envelope, typed payloads, a registry."""

from shared.events.billing import ChargePosted, InvoiceIssued
from shared.events.envelope import CamelModel, Event
from shared.events.ordering import SubscriptionPurchased
from shared.events.provisioning import (
    ActivationCompleted,
    ActivationLinkIssued,
    LicensesAssigned,
)
from shared.events.registry import EventRegistry, UnknownEventType

__all__ = [
    "ActivationCompleted",
    "ActivationLinkIssued",
    "CamelModel",
    "ChargePosted",
    "Event",
    "EventRegistry",
    "InvoiceIssued",
    "LicensesAssigned",
    "SubscriptionPurchased",
    "UnknownEventType",
]
