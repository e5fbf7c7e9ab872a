"""Billing periods: which days one charge covers.

A period starts on a given moment and ends on its last day (inclusive, like a term:
start + cycle - 1 day), but never past the end of the term it belongs to, so a
later renewal or proration can cut periods from any start without new rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.periods import BILLING_PERIOD, inclusive_end


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # inclusive: the period's last day

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")


def billing_period_duration(billing_cycle: str) -> str:
    """'monthly' -> 'P1M', 'annual' -> 'P1Y'."""
    try:
        return BILLING_PERIOD[billing_cycle]
    except KeyError:
        raise ValueError(f"unknown billing cycle {billing_cycle!r}") from None


def billing_period(start: datetime, billing_cycle: str, term_end: datetime) -> Period:
    """The period of `billing_cycle` starting at `start`, clamped to the term's end."""
    end = inclusive_end(start, billing_period_duration(billing_cycle))
    return Period(start=start, end=min(end, term_end))
