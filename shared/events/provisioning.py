"""Events the provisioning service publishes on `provisioning.subscriptions`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from shared.events.envelope import CamelModel, Event
from shared.events.topics import PROVISIONING_SUBSCRIPTIONS


class ActivationLinkIssuedData(CamelModel):
    subscription_id: str
    link: str  # landing page URL + ?token=<url-encoded purchase token>
    token_expires_at: datetime


class ActivationLinkIssued(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["ActivationLinkIssued"] = "ActivationLinkIssued"
    data: ActivationLinkIssuedData


class LicensesAssignedData(CamelModel):
    subscription_id: str
    assigned_count: int
    quantity: int


class LicensesAssigned(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["LicensesAssigned"] = "LicensesAssigned"
    data: LicensesAssignedData


class ActivationCompletedData(CamelModel):
    """Licenses assigned AND activation confirmed: billing may start."""

    subscription_id: str
    csp_partner_id: str
    customer_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    quantity: int
    licenses_assigned: int
    term_duration: Literal["P1M", "P1Y"]
    billing_cycle: Literal["monthly", "annual"]
    currency: str
    price_per_seat: Decimal
    auto_renew_enabled: bool
    term_start: datetime
    term_end: datetime  # start + term, exclusive: the term is [term_start, term_end)


class ActivationCompleted(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["ActivationCompleted"] = "ActivationCompleted"
    data: ActivationCompletedData
