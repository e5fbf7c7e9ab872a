"""The partner's view of subscriptions and of the activation links of order lines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from services.ordering.entrypoints.schemas import Out, renamed


class LinkOut(Out):
    uri: str
    method: Literal["GET"] = "GET"


class ActivationLinkOut(Out):
    line_item_number: int
    link: LinkOut


class PendingChangeOut(Out):
    quantity: int | None = None
    plan_id: str | None = None
    operation_id: str


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
