"""What billing remembers of a subscription: enough to price any of its periods.

Billing keeps its own copy (services never read each other's stores), moved on by
provisioning's facts (seat changes, suspension, renewals, the end): its status, its
current term, its seats and which billing periods were charged. Periods of a term are
counted from the term's start (`shared.periods.nth`), so month ends never drift, and
clamped to the term's end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from services.billing.domain.billing_period import (
    Period,
    UtcDatetime,
    as_utc,
    billing_period_duration,
)
from shared.domain import Aggregate
from shared.errors import RuleBroken
from shared.money import minor_digits
from shared.periods import nth

Status = Literal["active", "suspended", "ended"]


class InvalidSubscription(RuleBroken):
    """The facts billing was given cannot be billed (a broken upstream invariant);
    the consumer stops its partition on the event that carried them until a fix
    makes them billable (nothing is thrown away)."""


class BilledSubscription(Aggregate):
    COLLECTION: ClassVar[str] = "subscriptions"

    customer_id: str
    csp_partner_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    currency: str
    price_per_seat: int  # minor units, per billing period
    quantity: int
    term_duration: str  # "P1M" | "P1Y"
    billing_cycle: str  # "monthly" | "annual"
    term_start: UtcDatetime  # of the current term
    term_end: UtcDatetime  # exclusive: the current term is [term_start, term_end)
    auto_renew_enabled: bool
    correlation_id: str  # the purchase that started it; carried by what billing emits
    status: Status = "active"
    first_term_start: UtcDatetime  # when billing started (the first term's start)
    # The full billing periods charged (in whole or from an instant on), of every term.
    charged_periods: list[Period] = Field(default_factory=list)
    # Provisioning operations whose fact was applied: the same fact again changes nothing.
    applied_operations: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _first_term(cls, data: Any) -> Any:
        if isinstance(data, dict) and "first_term_start" not in data and "term_start" in data:
            return {**data, "first_term_start": data["term_start"]}
        return data

    @model_validator(mode="after")
    def _billable(self) -> BilledSubscription:
        # InvalidSubscription is no ValueError, so pydantic lets it through unwrapped.
        try:
            minor_digits(self.currency)
            billing_period_duration(self.billing_cycle)
        except ValueError as error:
            raise InvalidSubscription(str(error)) from error
        if self.quantity < 1:
            raise InvalidSubscription(f"quantity must be at least 1, got {self.quantity}")
        if self.price_per_seat < 0:
            raise InvalidSubscription(f"price per seat is negative: {self.price_per_seat}")
        if self.term_end <= self.term_start:
            raise InvalidSubscription("term ends before or as it starts")
        if "charged_periods" not in self.model_fields_set:
            # New, or stored before billing kept it: the activation charged the first
            # period in the same unit of work that remembered the subscription.
            self.charged_periods = [self.first_period()]
        return self

    # --- periods -------------------------------------------------------------

    def first_period(self) -> Period:
        return self.period(0)

    def period(self, n: int) -> Period:
        """Period n of the current term, counted from its start, clamped to its end."""
        cycle = billing_period_duration(self.billing_cycle)
        end = nth(self.term_start, cycle, n + 1)
        return Period(start=nth(self.term_start, cycle, n), end=min(end, self.term_end))

    def periods(self) -> Iterator[Period]:
        """The current term's periods, in order; they tile the term exactly."""
        n = 0
        while nth(self.term_start, billing_period_duration(self.billing_cycle), n) < self.term_end:
            yield self.period(n)
            n += 1

    def period_at(self, moment: datetime) -> Period | None:
        """The billing period holding `moment`: a charged one of any term, else one of
        the current term; None outside both (before the first term, after the last)."""
        for period in self.charged_periods:
            if period.start <= moment < period.end:
                return period
        if not self.term_start <= moment < self.term_end:
            return None
        return next(p for p in self.periods() if p.start <= moment < p.end)

    def is_charged(self, period: Period) -> bool:
        return period in self.charged_periods

    def due_periods(self, until: datetime) -> list[Period]:
        """The current term's periods to charge now that it is `until`: those after the
        last charged one that have started by then. None unless active: a period that
        starts while suspended is never charged (reinstatement charges the rest of the
        one it falls in, and charging goes on after that one)."""
        if self.status != "active":
            return []
        after = self._charged_until()
        return [p for p in self.periods() if after <= p.start <= until]

    def _charged_until(self) -> datetime:
        """Where the current term's charged periods end (its start if none is)."""
        in_term = [p for p in self.charged_periods if self.term_start <= p.start < self.term_end]
        return max((p.end for p in in_term), default=self.term_start)

    def due_times(self) -> dict[str, datetime | None]:
        """`charge_due_at`: when the next period to charge starts (None: nothing left to
        charge this term, or not active), so the due work finds exactly `due_periods`."""
        if self.status != "active":
            return {"charge_due_at": None}
        # As `due_periods` reads it, without walking the periods (this runs at every
        # flush): charged periods are whole periods of the term's tiling, so the next
        # one to charge starts where the last charged one ends.
        after = self._charged_until()
        return {"charge_due_at": after if after < self.term_end else None}

    def mark_charged(self, period: Period) -> None:
        if period not in self.charged_periods:
            self.charged_periods.append(period)

    def period_price(self) -> int:
        """Price of one full billing period for the current quantity, in minor units."""
        return self.quantity * self.price_per_seat

    # --- what provisioning's facts do ----------------------------------------

    def apply_once(self, operation_id: str) -> bool:
        """Remember the operation a fact reports; False if it was applied already."""
        if operation_id in self.applied_operations:
            return False
        self.applied_operations.append(operation_id)
        return True

    def change_quantity(self, quantity: int) -> None:
        if quantity < 1:
            raise InvalidSubscription(f"quantity must be at least 1, got {quantity}")
        self.quantity = quantity

    def suspend(self) -> None:
        self.status = "suspended"

    def reinstate(self) -> None:
        self.status = "active"

    def end(self) -> None:
        self.status = "ended"

    def renew(self, term_start: datetime, term_end: datetime, quantity: int) -> None:
        if term_end <= term_start:
            raise InvalidSubscription("the renewed term ends before or as it starts")
        self.term_start, self.term_end = as_utc(term_start), as_utc(term_end)
        self.change_quantity(quantity)

    def turn_off_auto_renew(self) -> None:
        self.auto_renew_enabled = False
