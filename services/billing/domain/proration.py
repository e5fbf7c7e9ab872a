"""Day-based proration: the part of a period's price a change from an instant on owes.

The convention (services/billing/README.md has a worked example):
- days in the period = (end - start) in whole days (at least 1: a period shorter than a
  day counts as one);
- remaining days = (end - since) in days, rounded UP (a day begun counts in full), at
  most the days in the period;
- amount = remaining / days x the full period's amount, rounded half up to the minor
  unit, away from zero, so a decrease's credit mirrors the same increase's charge.

Exact decimal arithmetic on minor units (the numerator is multiplied out before the one
division), never floats: a half minor unit is always seen as exactly half.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.billing.domain.billing_period import Period

DAY = timedelta(days=1)


def days_in(period: Period) -> int:
    return max(1, (period.end - period.start) // DAY)


def remaining_days(period: Period, since: datetime) -> int:
    """Whole days from `since` (inside the period) to its end, a begun day counting."""
    if not period.start <= since < period.end:
        raise ValueError(f"{since} is not inside the period {period.start}..{period.end}")
    left = period.end - since
    return min(days_in(period), -(-left // DAY))  # ceiling division


def prorate(full_amount: int, period: Period, since: datetime) -> int:
    """The share of `full_amount` (minor units, for the whole period; negative for a
    decrease) owed from `since` to the period's end."""
    owed = Decimal(full_amount * remaining_days(period, since)) / Decimal(days_in(period))
    return int(owed.quantize(Decimal(1), rounding=ROUND_HALF_UP))
