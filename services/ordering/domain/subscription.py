"""The partner's view of one subscription: bought at checkout, changed by the partner
(PATCH: ordering decides, docs/subscription-lifecycle.md), and following provisioning's
facts about what it did not decide itself (a seat change's outcome, renewal, the end).

Every fact sets values (never adds), so applying the same fact twice changes nothing:
the view stays right even past the consumer's inbox.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from services.ordering.domain.events import (
    CancellationRequested,
    QuantityChangeRequested,
    ReinstatementRequested,
    SubscriptionDetailsChanged,
    SubscriptionPurchased,
    SuspensionRequested,
)
from services.ordering.domain.model import BillingCycle, TermDuration, Value
from services.ordering.domain.subscription_changes import (
    UNCHANGED,
    ChangeRequest,
    SubscriptionChanges,
    TargetStatus,
    Unchanged,
    checked_auto_renew,
    checked_friendly_name,
    checked_mpn_id,
    checked_quantity,
    checked_status,
)
from shared.catalog import Plan
from shared.domain import Aggregate
from shared.errors import Conflict, RuleBroken
from shared.periods import last_day

SubscriptionStatus = Literal["pending", "active", "suspended", "deleted"]
STATUSES: tuple[str, ...] = ("pending", "active", "suspended", "deleted")

_PURCHASE_FACTS = {f.name for f in dataclasses.fields(SubscriptionPurchased)}


class PendingChange(Value):
    quantity: int | None = None
    plan_id: str | None = None
    operation_id: str


class LastChange(Value):
    """The publisher's answer to the latest seat change."""

    operation_id: str
    quantity: int  # the seats that were asked for
    status: Literal["accepted", "rejected"]
    reason: str | None = None  # why it was rejected
    decided_at: datetime


class Subscription(Aggregate):
    COLLECTION: ClassVar[str] = "subscriptions"

    csp_partner_id: str
    customer_id: str
    order_id: str
    line_item_number: int
    offer_id: str
    plan_id: str
    publisher_id: str
    friendly_name: str
    quantity: int
    status: SubscriptionStatus = "pending"
    action_needed: bool = False
    activation_link: str | None = None
    licenses_assigned: int = 0
    auto_renew_enabled: bool
    reseller_mpn_id: str | None
    term_duration: TermDuration
    billing_cycle: BillingCycle
    currency: str
    price_per_seat_minor: int  # per billing period, locked at purchase
    creation_date: datetime
    effective_start_date: datetime | None = None
    commitment_end_date: date | None = None  # the term's last day (Partner Center's habit)
    refundable_until: datetime | None = None
    pending_change: PendingChange | None = None
    last_change: LastChange | None = None
    # The request that last set auto-renew: a CancellationScheduled about an earlier one
    # is stale (the partner has turned auto-renew back on since).
    auto_renew_set_by: str | None = None
    correlation_id: str  # the purchase that started it all: every event about it carries it

    @field_validator("commitment_end_date", mode="before")
    @classmethod
    def _last_day_of_a_stored_instant(cls, value: Any) -> Any:
        """Views stored before the dates were half-open kept the term's last day as an
        instant (start + term - 1 day); its date is that last day."""
        if isinstance(value, str) and "T" in value:
            value = datetime.fromisoformat(value)
        return value.date() if isinstance(value, datetime) else value

    def record_purchase(
        self, *, customer_name: str, purchased_by: str, offer_name: str, plan_name: str
    ) -> None:
        """Records SubscriptionPurchased: its own facts plus the names it does not keep."""
        facts = self.model_dump(include=_PURCHASE_FACTS)
        self.record(
            SubscriptionPurchased(
                **facts,
                subscription_id=self.id,
                customer_name=customer_name,
                purchased_by=purchased_by,
                offer_name=offer_name,
                plan_name=plan_name,
                purchased_at=self.creation_date,
            )
        )

    def record_activation_link(self, link: str) -> None:
        # The partner must act (send the link to the customer) only while pending.
        self.activation_link = link
        self.action_needed = self.status == "pending"

    def record_licenses(self, count: int) -> None:
        self.licenses_assigned = count

    def record_activation(self, term_start: datetime, term_end: datetime, licenses: int) -> None:
        """Pending -> active; `term_end` is exclusive ([term_start, term_end)), so the
        commitment ends on the day before it. A later status (suspended, deleted) is not
        undone by a late or replayed activation: only the dates and license count are
        taken, and a renewed term's end is never moved back to the first term's."""
        if self.status == "pending":
            self.status = "active"
        self.action_needed = False
        self.effective_start_date = term_start
        self.record_renewal(term_end)
        self.licenses_assigned = licenses

    # --- the partner's changes (PATCH). Each method checks its rules (value: RuleBroken,
    # 400; state: Conflict, 409), changes the state at once and records the request
    # event provisioning acts on. Asking for what already is changes nothing, records
    # nothing, and is not refused in any state.

    def change(
        self, changes: SubscriptionChanges, plan: Plan | None, request: ChangeRequest
    ) -> None:
        """One PATCH, all or nothing. Every value is checked first (400 before 409); then
        the details, the status and the seats are changed in that order on a copy, each
        seeing the state the one before left (a reactivation lets a seat change through,
        a suspension stops one). The subscription takes the copy's state and events only
        when every change passed, so one broken rule changes nothing and records nothing."""
        if not changes.named:
            raise RuleBroken(
                "nothing to change: name at least one of friendlyName, partnerId,"
                " autoRenewEnabled, quantity, status"
            )
        _check_values(changes, plan)
        draft = self.model_copy(deep=True)
        draft.change_details(
            request,
            friendly_name=changes.friendly_name,
            reseller_mpn_id=changes.reseller_mpn_id,
            auto_renew_enabled=changes.auto_renew_enabled,
        )
        if changes.status is not UNCHANGED:
            draft.change_status(changes.status, request)
        if changes.quantity is not UNCHANGED:
            draft.change_quantity(changes.quantity, plan, request)
        for name in type(self).model_fields:
            setattr(self, name, getattr(draft, name))
        for event in draft.events:
            self.record(event)

    def change_details(
        self,
        request: ChangeRequest,
        *,
        friendly_name: str | Unchanged = UNCHANGED,
        reseller_mpn_id: str | None | Unchanged = UNCHANGED,
        auto_renew_enabled: bool | Unchanged = UNCHANGED,
    ) -> None:
        """Nickname, indirect reseller, auto-renew: no publisher decision, one
        SubscriptionDetailsChanged with all three as they now stand. A deleted
        subscription keeps all but its nickname."""
        name = (
            self.friendly_name
            if friendly_name is UNCHANGED
            else checked_friendly_name(friendly_name)
        )
        mpn_id = (
            self.reseller_mpn_id
            if reseller_mpn_id is UNCHANGED
            else checked_mpn_id(reseller_mpn_id)
        )
        renews = (
            self.auto_renew_enabled
            if auto_renew_enabled is UNCHANGED
            else checked_auto_renew(auto_renew_enabled)
        )
        if self.status == "deleted":
            for field, changed in (
                ("partnerId", mpn_id != self.reseller_mpn_id),
                ("autoRenewEnabled", renews != self.auto_renew_enabled),
            ):
                if changed:
                    raise Conflict(
                        f"{field} cannot change: a deleted subscription accepts no change"
                        " but its friendlyName",
                        field,
                    )
        if (name, mpn_id, renews) == (
            self.friendly_name,
            self.reseller_mpn_id,
            self.auto_renew_enabled,
        ):
            return
        operation_id = request.new_operation_id()
        if renews != self.auto_renew_enabled:
            # Turning it back on after a scheduled cancellation undoes that schedule.
            self.auto_renew_set_by = operation_id
        self.friendly_name, self.reseller_mpn_id, self.auto_renew_enabled = name, mpn_id, renews
        self.record(
            SubscriptionDetailsChanged(
                **_requested(self, operation_id, request),
                friendly_name=name,
                reseller_mpn_id=mpn_id,
                auto_renew_enabled=renews,
            )
        )

    def change_quantity(self, quantity: int, plan: Plan | None, request: ChangeRequest) -> None:
        """A seat change only asks: `quantity` stays until the publisher's answer, the
        change shows as `pending_change` meanwhile, one at a time, only while active."""
        quantity = checked_quantity(quantity, plan)
        if quantity == self.quantity:
            return
        if self.pending_change is not None and self.pending_change.quantity == quantity:
            return  # the same request again (a client's retry): still the one pending
        if self.status != "active":
            raise Conflict(
                f"quantity can change only while the subscription is active; it is {self.status}",
                "quantity",
            )
        self._no_seat_change_pending("quantity")
        operation_id = request.new_operation_id()
        self.pending_change = PendingChange(quantity=quantity, operation_id=operation_id)
        self.record(
            QuantityChangeRequested(
                **_requested(self, operation_id, request),
                quantity=quantity,
                previous_quantity=self.quantity,
            )
        )

    def change_status(self, status: TargetStatus, request: ChangeRequest) -> None:
        """`suspended` suspends, `active` reactivates, `deleted` cancels."""
        target = checked_status(status)
        if target == "suspended":
            self.suspend(request)
        elif target == "active":
            self.reinstate(request)
        else:
            self.cancel(request)

    def suspend(self, request: ChangeRequest) -> None:
        if self.status == "suspended":
            return
        if self.status != "active":
            raise Conflict(
                f"status: only an active subscription can be suspended; it is {self.status}",
                "status",
            )
        self._no_seat_change_pending("status")
        self.status = "suspended"
        self.record(SuspensionRequested(**_requested(self, request.new_operation_id(), request)))

    def reinstate(self, request: ChangeRequest) -> None:
        if self.status == "active":
            return
        if self.status != "suspended":
            raise Conflict(
                f"status: only a suspended subscription can be reactivated; it is {self.status}",
                "status",
            )
        self.status = "active"
        self.record(ReinstatementRequested(**_requested(self, request.new_operation_id(), request)))

    def cancel(self, request: ChangeRequest) -> None:
        """Before `refundable_until` (strictly), or never activated: immediate, deleted
        now and every charge credited. From `refundable_until` on: scheduled, auto-renew
        off and the subscription ends at term end, nothing refunded; its status stays."""
        if self.status == "deleted":
            return
        self._no_seat_change_pending("status")
        operation_id = request.new_operation_id()
        immediate = self.status == "pending" or (
            self.refundable_until is not None and request.requested_at < self.refundable_until
        )
        if immediate:
            self.status = "deleted"
            self.action_needed = False
        else:
            self.auto_renew_enabled = False
            self.auto_renew_set_by = operation_id
        self.record(
            CancellationRequested(**_requested(self, operation_id, request), immediate=immediate)
        )

    def _no_seat_change_pending(self, field: str) -> None:
        if self.pending_change is not None:
            raise Conflict(
                f"{field}: a seat change to {self.pending_change.quantity} is pending"
                f" (operation {self.pending_change.operation_id}); wait for the publisher's"
                " answer",
                field,
            )

    # --- provisioning's facts about what ordering did not decide itself

    def record_quantity_accepted(self, operation_id: str, quantity: int, at: datetime) -> bool:
        """The seat count becomes the accepted one. False (nothing changed) for a decision
        about another change than the one pending or last decided: an older one."""
        if not self._seat_decision_applies(operation_id):
            return False
        self.quantity = quantity
        self.pending_change = None
        self.last_change = LastChange(
            operation_id=operation_id, quantity=quantity, status="accepted", decided_at=at
        )
        return True

    def record_quantity_rejected(
        self, operation_id: str, quantity: int, at: datetime, reason: str
    ) -> bool:
        """The seat count stays; the partner sees why. False as for an acceptance."""
        if not self._seat_decision_applies(operation_id):
            return False
        self.pending_change = None
        self.last_change = LastChange(
            operation_id=operation_id,
            quantity=quantity,
            status="rejected",
            reason=reason,
            decided_at=at,
        )
        return True

    def _seat_decision_applies(self, operation_id: str) -> bool:
        """The change pending; else a repeat of the last decided one (set again: no
        change); else, if ordering knows of no seat change at all, whatever provisioning
        decided. Requests go out one at a time, so any other decision is an older one."""
        if self.pending_change is not None:
            return self.pending_change.operation_id == operation_id
        return self.last_change is None or self.last_change.operation_id == operation_id

    def record_renewal(self, term_end: datetime) -> None:
        """A new term: its last day. Never back to an earlier term's (a replayed renewal)."""
        ends = last_day(term_end)
        if self.commitment_end_date is None or ends > self.commitment_end_date:
            self.commitment_end_date = ends

    def record_end(self) -> None:
        """Cancelled or expired at term end: over for good."""
        self.status = "deleted"
        self.action_needed = False

    def record_cancellation_scheduled(self, operation_id: str) -> bool:
        """Auto-renew off, unless the partner has turned it on again after asking for
        this cancellation (then the fact is stale: False, nothing changed)."""
        if self.auto_renew_set_by not in (None, operation_id):
            return False
        self.auto_renew_enabled = False
        return True


def _check_values(changes: SubscriptionChanges, plan: Plan | None) -> None:
    """Every value rule of one PATCH (400), before any rule of state (409)."""
    if changes.friendly_name is not UNCHANGED:
        checked_friendly_name(changes.friendly_name)
    if changes.reseller_mpn_id is not UNCHANGED:
        checked_mpn_id(changes.reseller_mpn_id)
    if changes.auto_renew_enabled is not UNCHANGED:
        checked_auto_renew(changes.auto_renew_enabled)
    if changes.status is not UNCHANGED:
        checked_status(changes.status)
    if changes.status == "deleted" and changes.auto_renew_enabled is True:
        raise RuleBroken(
            "autoRenewEnabled cannot be true in the same change as status deleted:"
            " a cancellation ends the subscription",
            "autoRenewEnabled",
        )
    if changes.quantity is not UNCHANGED:
        checked_quantity(changes.quantity, plan)  # last: a plan no longer sold is a 409


def _requested(
    subscription: Subscription, operation_id: str, request: ChangeRequest
) -> dict[str, Any]:
    """The fields every request event carries."""
    return {
        "subscription_id": subscription.id,
        "operation_id": operation_id,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at,
    }
