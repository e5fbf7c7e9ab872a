"""Wire models of the SaaS Fulfillment API v2 (written from specs/saasapi.v2.json) + extension.

Responses are serialized with `exclude_none`: the spec types every field, so an
unknown value is left out rather than sent as null. Requests: every string has a
maximum length and every integer the spec's int64 range (a 400 naming the field).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer

from shared.events.envelope import CamelModel
from shared.http.limits import EMAIL_CHARS, ID_CHARS, NAME_CHARS

SaasStatus = Literal[
    "NotStarted", "PendingFulfillmentStart", "Subscribed", "Suspended", "Unsubscribed"
]
TermUnit = Literal["P1M", "P1Y", "P2Y", "P3Y", "P4Y", "P5Y"]
PlanId = Annotated[str, Field(max_length=ID_CHARS)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]  # the spec's `format: int64`


def _json_number(amount: Decimal) -> int | float:
    # The spec types prices as JSON numbers; catalog prices have at most the
    # currency's minor digits, so the float's shortest repr is the exact decimal.
    return int(amount) if amount == amount.to_integral_value() else float(amount)


JsonNumber = Annotated[Decimal, PlainSerializer(_json_number, return_type=int | float)]


class AadIdentifier(CamelModel):
    email_id: str | None = None
    object_id: str | None = None
    tenant_id: str | None = None
    puid: str | None = None


class SubscriptionTerm(CamelModel):
    term_unit: TermUnit
    start_date: datetime | None = None  # only once activation completed
    end_date: datetime | None = None
    charge_duration: str | None = None  # the billing period, e.g. P1M for monthly billing


class Subscription(CamelModel):
    id: str
    publisher_id: str
    offer_id: str
    name: str
    saas_subscription_status: SaasStatus
    beneficiary: AadIdentifier
    purchaser: AadIdentifier
    plan_id: str
    quantity: int
    term: SubscriptionTerm
    auto_renew: bool
    is_test: bool = False
    is_free_trial: bool = False
    allowed_customer_operations: list[Literal["Read", "Update", "Delete"]] = ["Read"]
    sandbox_type: Literal["None", "Csp"] = "Csp"
    created: datetime
    session_mode: Literal["None", "DryRun"] = "None"


class ResolvedSubscription(CamelModel):
    id: str
    subscription_name: str
    offer_id: str
    plan_id: str
    quantity: int
    subscription: Subscription


class SubscriptionsResponse(CamelModel):
    subscriptions: list[Subscription]
    next_link: str | None = Field(default=None, alias="@nextLink")


class RecurrentBillingTerm(CamelModel):
    currency: str
    price: JsonNumber  # per seat and billing period
    term_unit: TermUnit
    term_description: str


class PlanComponents(CamelModel):
    recurrent_billing_terms: list[RecurrentBillingTerm]  # no metered dimensions in CSP offers


class Plan(CamelModel):
    plan_id: str
    display_name: str
    is_private: bool = False
    min_quantity: int
    max_quantity: int
    has_free_trials: bool = False
    is_price_per_seat: bool = True
    is_stop_sell: bool = False
    plan_components: PlanComponents


class SubscriptionPlans(CamelModel):
    plans: list[Plan]


OperationAction = Literal[
    "Unsubscribe", "ChangePlan", "ChangeQuantity", "Suspend", "Reinstate", "Renew"
]
OperationStatus = Literal["NotStarted", "InProgress", "Succeeded", "Failed", "Conflict"]


class SaasOperation(CamelModel):
    """The spec's SaaSOperation (GET .../operations/{operationId})."""

    id: str
    activity_id: str
    subscription_id: str
    publisher_id: str
    offer_id: str
    plan_id: str
    quantity: int
    time_stamp: datetime
    action: OperationAction
    status: OperationStatus


class OperationList(CamelModel):
    operations: list[SaasOperation]  # newest first


class UpdateOperation(CamelModel):
    """The publisher's answer to a seat change: `status` is required (the spec lists it
    as optional, but an answer without one says nothing); planId / quantity, if given,
    must be the operation's."""

    plan_id: PlanId | None = None
    quantity: Int64 | None = None
    status: Literal["Success", "Failure"]


class WebhookPayload(SaasOperation):
    """The body POSTed to the publisher's webhookUrl: the operation, who asked, and the
    subscription as the publisher's GET shows it (docs/subscription-lifecycle.md, "Webhooks")."""

    operation_request_source: Literal["Partner"] = "Partner"
    subscription: Subscription


class SubscriberPlan(CamelModel):
    """Body of `activate`: must match the purchased plan and quantity."""

    plan_id: PlanId
    quantity: Int64


class LicenseAssignmentIn(CamelModel):
    user_id: str = Field(min_length=1, max_length=NAME_CHARS)  # an object id or a UPN
    email: str | None = Field(default=None, max_length=EMAIL_CHARS)


class LicensesRequest(CamelModel):
    """Extension: the whole license assignment set, replacing the previous one.

    Documented in services/provisioning/README.md ("Licenses extension").
    """

    assignments: list[LicenseAssignmentIn]


class LicensesResponse(CamelModel):
    subscription_id: str
    assigned_count: int
    quantity: int
