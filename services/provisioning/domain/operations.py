"""The publisher-side operation: what one change of a subscription became, and its webhook.

Every change the publisher hears of is an Operation (the SaaS Fulfillment API's
SaaSOperation): the partner's seat change, suspension, reinstatement and immediate
cancellation, and provisioning's own renewals and expiries. Notifications (Suspend,
Reinstate, Unsubscribe, Renew) are `Succeeded` when created; a ChangeQuantity stays
`InProgress` until the publisher (or its silence) decides it.

Each operation carries the delivery state of its webhook (services/provisioning/
README.md, "Webhooks"): `pending` until the publisher's endpoint answers 2xx
(`delivered`) or 4xx (`rejected`), or until MAX_ATTEMPTS failed (`gaveUp`). An
operation decided before it could reach the publisher is `skipped`: never sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from shared.domain import Aggregate
from shared.errors import Conflict

Action = Literal["ChangePlan", "ChangeQuantity", "Renew", "Suspend", "Reinstate", "Unsubscribe"]
OperationStatus = Literal["NotStarted", "InProgress", "Succeeded", "Failed", "Conflict"]
DeliveryState = Literal["pending", "delivered", "rejected", "gaveUp", "skipped"]
Outcome = Literal["delivered", "rejected", "failed"]  # what one attempt came to

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=5)

# Fixed namespaces: the same inputs always give the same ids, so repeated due work
# (or a second replica) cannot create a second renewal of one term.
_TERM_END_IDS = uuid.UUID("1f0c4a52-7d3e-5b8e-9a61-0c2f7e4d9b13")
_ACTIVITY_IDS = uuid.UUID("6b2d8e71-3c4f-5a09-8e2b-7d1f0a6c5e24")


def term_end_operation_id(subscription_id: str, term_end: datetime) -> str:
    """The id of the renewal or expiry at `term_end`: derived, never random."""
    instant = term_end.astimezone(UTC).isoformat()
    return str(uuid.uuid5(_TERM_END_IDS, f"{subscription_id}@{instant}"))


def retry_delay(failed_attempts: int) -> timedelta:
    """2 s after the first failure, doubling, at most 5 minutes (business time)."""
    return min(FIRST_RETRY * 2 ** (failed_attempts - 1), LONGEST_RETRY)


class OperationNotInProgress(Conflict):
    """The publisher answered an operation that is decided already (or never needed it)."""

    def __init__(self, operation: Operation) -> None:
        super().__init__(f"operation {operation.id} is {operation.status}, not InProgress")


class Operation(Aggregate):
    COLLECTION: ClassVar[str] = "operations"

    activity_id: str
    subscription_id: str
    publisher_id: str
    offer_id: str
    plan_id: str
    quantity: int  # a ChangeQuantity's wanted seats; otherwise the subscription's
    action: Action
    status: OperationStatus
    time_stamp: datetime  # when it was created (a term end for renewals and expiries)
    acceptance_deadline: datetime | None = None  # ChangeQuantity only
    decided_at: datetime | None = None
    # The webhook: the due work finds `pending` ones by equality on this field.
    delivery_state: DeliveryState = "pending"
    delivery_attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def create(
        cls,
        operation_id: str,
        *,
        subscription_id: str,
        publisher_id: str,
        offer_id: str,
        plan_id: str,
        quantity: int,
        action: Action,
        at: datetime,
        acceptance_deadline: datetime | None = None,
    ) -> Operation:
        """A notification is Succeeded at once; a change with a deadline waits for it."""
        deciding = acceptance_deadline is not None
        return cls(
            id=operation_id,
            activity_id=str(uuid.uuid5(_ACTIVITY_IDS, operation_id)),
            subscription_id=subscription_id,
            publisher_id=publisher_id,
            offer_id=offer_id,
            plan_id=plan_id,
            quantity=quantity,
            action=action,
            status="InProgress" if deciding else "Succeeded",
            time_stamp=at,
            acceptance_deadline=acceptance_deadline,
            decided_at=None if deciding else at,
            next_attempt_at=at,
        )

    @property
    def in_progress(self) -> bool:
        return self.status == "InProgress"

    def silence_accepts(self, now: datetime) -> bool:
        """A seat change nobody answered by its deadline (the deadline itself included)."""
        deadline = self.acceptance_deadline
        return self.in_progress and deadline is not None and deadline <= now

    def decide(self, status: Literal["Succeeded", "Failed"], at: datetime) -> None:
        if not self.in_progress:
            raise OperationNotInProgress(self)
        self.status = status
        self.decided_at = at

    def fail_unsent(self, at: datetime, reason: str) -> None:
        """Refused before the publisher was asked: Failed, and no webhook goes out."""
        self.decide("Failed", at)
        self.delivery_state = "skipped"
        self.next_attempt_at = None
        self.last_error = reason

    def record_attempt(self, attempt: int, outcome: Outcome, detail: str, now: datetime) -> bool:
        """The outcome of delivery attempt number `attempt` (1-based). False when it is
        stale (already recorded, or no longer pending): a repeated pass changes nothing."""
        if self.delivery_state != "pending" or attempt != self.delivery_attempts + 1:
            return False
        self.delivery_attempts = attempt
        self.last_error = None if outcome == "delivered" else detail
        if outcome == "failed":
            if attempt < MAX_ATTEMPTS:
                self.next_attempt_at = now + retry_delay(attempt)
                return True
            self.delivery_state = "gaveUp"
        else:
            self.delivery_state = outcome  # delivered (2xx) or rejected (4xx): final
        self.next_attempt_at = None
        return True


@dataclass(frozen=True)
class DeliveryAttempt:
    """What one POST of a webhook came to: 2xx delivered, 4xx rejected, else failed
    (5xx, no connection, timeout: retried); `detail` says which (`HTTP 503`)."""

    outcome: Outcome
    detail: str
