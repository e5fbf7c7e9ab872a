"""Billing periods: which span of time one charge covers.

A period is half-open, [start, end), like a term: it ends where the next one starts
(start + cycle, month ends clamping), so consecutive periods tile with no gap and no
overlap, but never past the (exclusive) end of the term it belongs to, so a later
renewal or proration can cut periods from any start without new rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from shared.periods import BILLING_PERIOD, add


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as the stores do; aware ones move to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Every moment billing keeps is in UTC, so documents and API bodies all say "Z".
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class ValueObject(BaseModel):
    """Immutable, compared by value, stored inside the aggregate's document."""

    model_config = ConfigDict(frozen=True)


class Period(ValueObject):
    start: UtcDatetime
    end: UtcDatetime  # exclusive: where the next period starts

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Period:
        if self.end <= self.start:
            raise ValueError(f"period ends ({self.end}) before or as it starts ({self.start})")
        return self


def billing_period_duration(billing_cycle: str) -> str:
    """'monthly' -> 'P1M', 'annual' -> 'P1Y'."""
    try:
        return BILLING_PERIOD[billing_cycle]
    except KeyError:
        raise ValueError(f"unknown billing cycle {billing_cycle!r}") from None


def billing_period(start: datetime, billing_cycle: str, term_end: datetime) -> Period:
    """[start, min(start + cycle, term_end)): the period of `billing_cycle` starting at
    `start`, clamped to the term's (exclusive) end."""
    end = add(start, billing_period_duration(billing_cycle))
    return Period(start=start, end=min(end, term_end))
