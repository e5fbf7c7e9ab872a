"""The partner's view of subscriptions and of the activation links of order lines, and
the partner's change to one (PATCH)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from services.ordering.domain.subscription_changes import SubscriptionChanges
from services.ordering.entrypoints.schemas import Code, FriendlyName, Out, renamed
from shared.events.envelope import CamelModel


class LinkOut(Out):
    uri: str
    method: Literal["GET"] = "GET"


class ActivationLinkOut(Out):
    line_item_number: int
    link: LinkOut


def _absent(value: object) -> bool:
    return value is None


class PendingChangeOut(Out):
    """`{"quantity", "operationId"}` for a seat change (`planId` for a plan change)."""

    quantity: int | None = Field(default=None, exclude_if=_absent)
    plan_id: str | None = Field(default=None, exclude_if=_absent)
    operation_id: str


class LastChangeOut(Out):
    """The publisher's answer to the latest seat change."""

    operation_id: str
    quantity: int  # the seats that were asked for
    status: Literal["accepted", "rejected"]
    reason: str | None
    decided_at: datetime


class SubscriptionOut(Out):
    id: str
    customer_id: str
    order_id: str
    offer_id: str
    plan_id: str
    publisher_id: str
    friendly_name: str
    quantity: int
    status: str
    action_needed: bool
    activation_link: str | None
    licenses_assigned: int
    auto_renew_enabled: bool
    partner_id: str | None = renamed("reseller_mpn_id", "partnerId")  # indirect reseller
    term_duration: str
    billing_cycle: str
    creation_date: datetime
    effective_start_date: datetime | None
    commitment_end_date: date | None  # the term's last day, e.g. "2026-12-22"
    refundable_until: datetime | None
    pending_change: PendingChangeOut | None
    last_change: LastChangeOut | None


def partner_state(subscription: Any) -> dict[str, Any]:
    """The partner's part of subscriptions.state (shared.events.state): the subscription
    as GET /v1/customers/{cid}/subscriptions/{sid} shows it."""
    return SubscriptionOut.model_validate(subscription).model_dump(mode="json", by_alias=True)


class SubscriptionPatchIn(CamelModel):
    """Any of these; a field not sent is left as it is, `partnerId: null` clears the
    indirect reseller. JSON types are strict and unknown fields refused (a misspelt
    field must not pass as "nothing to change"); value rules live in the domain."""

    model_config = ConfigDict(extra="forbid")

    friendly_name: FriendlyName | None = None
    quantity: StrictInt | None = None
    auto_renew_enabled: StrictBool | None = None
    partner_id: Code | None = None  # the indirect reseller's MPN ID
    status: Literal["suspended", "active", "deleted"] | None = None

    @field_validator("friendly_name", "quantity", "auto_renew_enabled", "status")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Only `partnerId` may be null: for the others null means nothing.
        if value is None:
            raise PydanticCustomError("null", "must not be null")
        return value

    def changes(self) -> SubscriptionChanges:
        """Only the fields sent, under the domain's names."""
        sent = self.model_dump(include=self.model_fields_set)
        if "partner_id" in sent:
            sent["reseller_mpn_id"] = sent.pop("partner_id")
        return SubscriptionChanges(**sent)
