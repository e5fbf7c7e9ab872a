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


# What happened to a subscription after activation, in the order provisioning applied
# it (one key, one partition): billing and ordering's view follow these. Each names the
# publisher-side operation (and its webhook) it became and the instant it took effect:
# billing prices by that instant, never by when it read the event.


class OperationFactData(CamelModel):
    subscription_id: str
    operation_id: str


class QuantityChangeAcceptedData(OperationFactData):
    quantity: int  # the new seat count
    previous_quantity: int
    accepted_at: datetime
    accepted_by: Literal["publisher", "timeout"]


class QuantityChangeAccepted(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["QuantityChangeAccepted"] = "QuantityChangeAccepted"
    data: QuantityChangeAcceptedData


class QuantityChangeRejectedData(OperationFactData):
    quantity: int  # the seats that were asked for
    current_quantity: int  # unchanged
    rejected_at: datetime
    reason: str


class QuantityChangeRejected(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["QuantityChangeRejected"] = "QuantityChangeRejected"
    data: QuantityChangeRejectedData


class SubscriptionSuspendedData(OperationFactData):
    suspended_at: datetime


class SubscriptionSuspended(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["SubscriptionSuspended"] = "SubscriptionSuspended"
    data: SubscriptionSuspendedData


class SubscriptionReinstatedData(OperationFactData):
    reinstated_at: datetime


class SubscriptionReinstated(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["SubscriptionReinstated"] = "SubscriptionReinstated"
    data: SubscriptionReinstatedData


class SubscriptionCancelledData(OperationFactData):
    """Ended now, inside the refund window: every charge of it is credited."""

    cancelled_at: datetime


class SubscriptionCancelled(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["SubscriptionCancelled"] = "SubscriptionCancelled"
    data: SubscriptionCancelledData


class CancellationScheduledData(OperationFactData):
    """After the window: auto-renew is off and the subscription ends at `ends_at`."""

    ends_at: datetime  # the term's (exclusive) end


class CancellationScheduled(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["CancellationScheduled"] = "CancellationScheduled"
    data: CancellationScheduledData


class SubscriptionRenewedData(OperationFactData):
    term_start: datetime  # = the previous term's end
    term_end: datetime  # exclusive: the new term is [term_start, term_end)
    quantity: int


class SubscriptionRenewed(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["SubscriptionRenewed"] = "SubscriptionRenewed"
    data: SubscriptionRenewedData


class SubscriptionExpiredData(OperationFactData):
    """The term ended with auto-renew off: the subscription is over, nothing more charged."""

    ended_at: datetime  # the term's (exclusive) end


class SubscriptionExpired(Event):
    TOPIC: ClassVar[str] = PROVISIONING_SUBSCRIPTIONS
    type: Literal["SubscriptionExpired"] = "SubscriptionExpired"
    data: SubscriptionExpiredData
