"""The SaaS subscription aggregate: activation, then the partner's changes and the term.

Activation needs licenses assigned (at least one) and activation confirmed (matching
plan and quantity), in either order, each retryable. Once both hold, and only once, it
becomes `Subscribed`, its term starts and it records ActivationCompleted
(services/provisioning/README.md, "Events").

After that (docs/subscription-lifecycle.md): Subscribed <-> Suspended, either ->
Unsubscribed (cancelled, or expired at term end); PendingFulfillmentStart ->
Unsubscribed on an immediate cancellation. Each change the publisher must hear of
returns the Operation it became (the handler adds it); each records its fact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal

from services.provisioning.domain.commands import ProvisionPurchase
from services.provisioning.domain.events import (
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
from services.provisioning.domain.licenses import LicenseAssignment, LicenseSet, license_set
from services.provisioning.domain.operations import Action, Operation, term_end_operation_id
from shared.domain import Aggregate
from shared.domain.record import plain_fields
from shared.errors import Conflict, Forbidden, RuleBroken
from shared.periods import add, nth

SaasStatus = Literal["PendingFulfillmentStart", "Subscribed", "Suspended", "Unsubscribed"]
LICENSABLE: frozenset[str] = frozenset({"PendingFulfillmentStart", "Subscribed"})
IN_TERM: frozenset[str] = frozenset({"Subscribed", "Suspended"})  # a term runs, it may end
READ_ONLY = (
    "CSP purchases allow only Read (allowedCustomerOperations); changes come from the partner"
)


class NotYourSubscription(Forbidden):
    """Another publisher's subscription (the fulfillment API answers 403, as Microsoft's)."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription {subscription_id} belongs to another publisher")


class WrongState(Conflict):
    """A request whose precondition no longer holds here (say, after a reset of ordering's
    view): the handler logs it and nothing changes (docs/subscription-lifecycle.md)."""

    def __init__(self, subscription: SaasSubscription, wanted: str) -> None:
        super().__init__(f"a {subscription.status} subscription cannot be {wanted}")


class SaasSubscription(Aggregate):
    """Everything the purchase told us, plus the publisher-side progress."""

    COLLECTION: ClassVar[str] = "saas_subscriptions"

    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: Literal["P1M", "P1Y"]
    billing_cycle: Literal["monthly", "annual"]
    currency: str
    price_per_seat_minor: int  # minor units of `currency`, per billing period
    friendly_name: str
    csp_partner_id: str
    customer_id: str
    customer_name: str
    purchased_by: str
    order_id: str
    line_item_number: int
    reseller_mpn_id: str | None = None
    auto_renew: bool
    purchased_at: datetime
    refundable_until: datetime
    correlation_id: str  # the purchase's, carried by every event this subscription causes
    created: datetime
    activation_link: str
    token_expires_at: datetime
    status: SaasStatus = "PendingFulfillmentStart"
    activation_confirmed_at: datetime | None = None
    licenses: LicenseSet = ()
    term_start: datetime | None = None
    term_end: datetime | None = None  # exclusive: the term is [term_start, term_end)
    # Terms are counted from the first one's start (`nth`), so month ends do not drift:
    # a term from Jan 31 renews to Feb 28, then to Mar 31.
    first_term_start: datetime | None = None
    term_number: int = 0  # of the current term, 0 for the first
    cancellation_scheduled_by: str | None = None  # the operation id that asked for it

    @classmethod
    def purchased(
        cls, purchase: ProvisionPurchase, *, link: str, token_expires_at: datetime, now: datetime
    ) -> SaasSubscription:
        """A new pending subscription with its activation link (ActivationLinkIssued)."""
        facts = plain_fields(purchase)
        subscription = cls(
            id=facts.pop("subscription_id"),
            **facts,
            created=now,
            activation_link=link,
            token_expires_at=token_expires_at,
        )
        subscription.record(ActivationLinkIssued(subscription.id, link, token_expires_at))
        return subscription

    @property
    def activation_confirmed(self) -> bool:
        return self.activation_confirmed_at is not None

    @property
    def activated(self) -> bool:
        """ActivationCompleted happened (the term has started)."""
        return self.term_start is not None

    def ensure_publisher(self, publisher_id: str) -> None:
        if publisher_id != self.publisher_id:
            raise NotYourSubscription(self.id)

    def change_by_publisher(self) -> None:
        """PATCH / DELETE by the publisher: a CSP purchase changes only through the partner."""
        raise RuleBroken(READ_ONLY)

    def assign_licenses(self, assignments: Sequence[LicenseAssignment], now: datetime) -> None:
        """Replace the whole assignment set; the same set again changes nothing."""
        if self.status not in LICENSABLE:
            raise RuleBroken(
                f"licenses cannot be assigned while the subscription is {self.status}",
                "assignments",
            )
        wanted = license_set(assignments, self.quantity)
        if wanted == self.licenses:
            return
        self.licenses = wanted
        self.record(LicensesAssigned(self.id, len(wanted), self.quantity))
        self._complete_if_ready(now)

    def confirm_activation(self, plan_id: str, quantity: int, now: datetime) -> None:
        """The publisher's `activate` call; a retry while waiting for licenses is a no-op."""
        if self.status == "Subscribed":
            raise RuleBroken("the subscription is already activated")
        if self.status != "PendingFulfillmentStart":
            raise RuleBroken(f"a {self.status} subscription cannot be activated")
        if plan_id != self.plan_id:
            raise RuleBroken(
                f"planId {plan_id!r} does not match the purchased plan {self.plan_id!r}", "planId"
            )
        if quantity != self.quantity:
            raise RuleBroken(
                f"quantity {quantity} does not match the purchased quantity {self.quantity}",
                "quantity",
            )
        if self.activation_confirmed:
            return
        self.activation_confirmed_at = now
        self._complete_if_ready(now)

    def _complete_if_ready(self, now: datetime) -> None:
        if self.activated or not self.activation_confirmed or not self.licenses:
            return
        self.status = "Subscribed"
        self.term_start = self.first_term_start = now
        self.term_end = add(now, self.term_duration)  # exclusive: [term_start, term_end)
        carried = [f.name for f in dataclasses.fields(ActivationCompleted)]
        facts = {name: getattr(self, name) for name in carried if name in type(self).model_fields}
        self.record(ActivationCompleted(self.id, licenses_assigned=len(self.licenses), **facts))

    # --- the partner's changes (docs/subscription-lifecycle.md, "Events") ---

    def change_details(
        self, friendly_name: str, reseller_mpn_id: str | None, auto_renew: bool
    ) -> None:
        """As ordering now has them; the publisher hears of none (no operation, no event)."""
        self.friendly_name = friendly_name
        self.reseller_mpn_id = reseller_mpn_id
        self.auto_renew = auto_renew

    def request_quantity_change(
        self,
        operation_id: str,
        quantity: int,
        now: datetime,
        *,
        deadline: datetime,
        pending: Sequence[Operation],
    ) -> Operation:
        """A ChangeQuantity waiting for the publisher until `deadline`. Refused at once
        (Failed, never sent, QuantityChangeRejected) unless Subscribed with no other
        seat change pending: the deterministic answer to a stale request."""
        operation = self._operation(
            operation_id, "ChangeQuantity", now, quantity=quantity, deadline=deadline
        )
        refusal = None
        if self.status != "Subscribed":
            refusal = f"the subscription is {self.status}"
        elif pending:
            refusal = f"seat change {pending[0].id} is still waiting for the publisher"
        if refusal is not None:
            operation.fail_unsent(now, refusal)
            self.record(
                QuantityChangeRejected(self.id, operation.id, quantity, self.quantity, now, refusal)
            )
        return operation

    def accept_quantity_change(
        self, operation: Operation, by: Literal["publisher", "timeout"], at: datetime
    ) -> None:
        operation.decide("Succeeded", at)  # OperationNotInProgress (409) if decided
        previous, self.quantity = self.quantity, operation.quantity
        self.record(QuantityChangeAccepted(self.id, operation.id, self.quantity, previous, at, by))

    def reject_quantity_change(self, operation: Operation, reason: str, at: datetime) -> None:
        operation.decide("Failed", at)
        self.record(
            QuantityChangeRejected(
                self.id, operation.id, operation.quantity, self.quantity, at, reason
            )
        )

    def suspend(
        self, operation_id: str, now: datetime, *, pending: Sequence[Operation]
    ) -> Operation:
        if self.status != "Subscribed":
            raise WrongState(self, "suspended")
        self._withdraw(pending, "the subscription was suspended", now)
        self.status = "Suspended"
        operation = self._operation(operation_id, "Suspend", now)
        self.record(SubscriptionSuspended(self.id, operation.id, now))
        return operation

    def reinstate(self, operation_id: str, now: datetime) -> Operation:
        if self.status != "Suspended":
            raise WrongState(self, "reinstated")
        self.status = "Subscribed"
        operation = self._operation(operation_id, "Reinstate", now)
        self.record(SubscriptionReinstated(self.id, operation.id, now))
        return operation

    def cancel_now(
        self, operation_id: str, now: datetime, *, pending: Sequence[Operation]
    ) -> Operation:
        """Ends now, pending or active: activation and licenses are refused from here on."""
        if self.status == "Unsubscribed":
            raise WrongState(self, "cancelled")
        self._withdraw(pending, "the subscription was cancelled", now)
        self.status = "Unsubscribed"
        operation = self._operation(operation_id, "Unsubscribe", now)
        self.record(SubscriptionCancelled(self.id, operation.id, now))
        return operation

    def schedule_cancellation(self, operation_id: str) -> None:
        """Auto-renew off: the term's end expires it (and the publisher hears then)."""
        if self.status not in IN_TERM or self.term_end is None:
            raise WrongState(self, "cancelled at term end")
        if self.cancellation_scheduled_by == operation_id:
            return  # the same request again
        self.auto_renew = False
        self.cancellation_scheduled_by = operation_id
        self.record(CancellationScheduled(self.id, operation_id, self.term_end))

    # --- the term (provisioning's due work) ---

    def term_ended_by(self, now: datetime) -> bool:
        return self.status in IN_TERM and self.term_end is not None and self.term_end <= now

    def due_times(self) -> dict[str, datetime | None]:
        """`term_ends_at`: when `term_ended_by` turns true (None: never, as things stand)."""
        return {"term_ends_at": self.term_end if self.status in IN_TERM else None}

    def end_terms(self, now: datetime, *, pending: Sequence[Operation]) -> list[Operation]:
        """Every term that ended by `now`, in turn: auto-renew on renews it (a suspended
        subscription too), off expires it. A long jump of the clock renews once per term."""
        operations = []
        while self.term_ended_by(now):
            ended = self.term_end
            assert ended is not None  # term_ended_by
            operation_id = term_end_operation_id(self.id, ended)
            if not self.auto_renew:
                self._withdraw(pending, "the subscription expired", ended)
                self.status = "Unsubscribed"
                operations.append(self._operation(operation_id, "Unsubscribe", ended))
                self.record(SubscriptionExpired(self.id, operation_id, ended))
                break
            first = self.first_term_start or self.term_start or ended
            self.term_number += 1
            self.term_start = ended
            self.term_end = nth(first, self.term_duration, self.term_number + 1)
            operations.append(self._operation(operation_id, "Renew", ended))
            self.record(
                SubscriptionRenewed(self.id, operation_id, ended, self.term_end, self.quantity)
            )
        return operations

    def _operation(
        self,
        operation_id: str,
        action: Action,
        at: datetime,
        *,
        quantity: int | None = None,
        deadline: datetime | None = None,
    ) -> Operation:
        return Operation.create(
            operation_id,
            subscription_id=self.id,
            publisher_id=self.publisher_id,
            offer_id=self.offer_id,
            plan_id=self.plan_id,
            quantity=self.quantity if quantity is None else quantity,
            action=action,
            at=at,
            acceptance_deadline=deadline,
        )

    def _withdraw(self, pending: Sequence[Operation], reason: str, at: datetime) -> None:
        """A seat change still waiting when the subscription stops being Subscribed is
        rejected, so no later answer (or silence) changes seats of a stopped subscription."""
        for operation in pending:
            if operation.action == "ChangeQuantity" and operation.in_progress:
                self.reject_quantity_change(operation, reason, at)
