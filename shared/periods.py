"""Calendar arithmetic for terms and billing periods (ISO 8601 durations).

Terms and billing periods are half-open intervals of instants, [start, end) with
end = add(start, duration): the next one starts where the last ended, so they tile
with no gap and no overlap. Only what people read (a partner's commitment end date,
an invoice line) names the last day, `last_day(end)`.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

import isodate
from dateutil.relativedelta import relativedelta

BILLING_PERIOD = {"monthly": "P1M", "annual": "P1Y"}


@functools.lru_cache(maxsize=256)  # a handful of durations, parsed on every period step
def parse_duration(text: str) -> relativedelta:
    """'P1M', 'P14D', 'PT24H' -> a calendar-aware delta; ValueError when malformed.
    Cached: the same object is shared, which is safe as relativedelta arithmetic
    always makes a new one."""
    try:
        parsed = isodate.parse_duration(text)
    except (isodate.ISO8601Error, TypeError) as error:
        raise ValueError(f"not an ISO 8601 duration: {text!r}") from error
    if isinstance(parsed, timedelta):
        return relativedelta(seconds=parsed.total_seconds())
    return relativedelta(
        years=int(parsed.years), months=int(parsed.months), seconds=parsed.tdelta.total_seconds()
    )


def add(start: datetime, duration: str) -> datetime:
    """Month ends clamp: Jan 31 + P1M = Feb 28/29."""
    return start + parse_duration(duration)


def last_day(end: datetime) -> date:
    """The last day of a term or period ending (exclusively) at `end`, as a date:
    a term from 2026-11-23 ends at 2026-12-23 and its last day is 2026-12-22."""
    return (end - timedelta(days=1)).date()


def nth(start: datetime, duration: str, n: int) -> datetime:
    """The start of the n-th of consecutive `duration`s from `start` (n = 0 is `start`),
    counted from `start` rather than chained, so month ends do not drift: Jan 31 +
    2 x P1M is Mar 31, where (Jan 31 + P1M) + P1M would be Mar 28."""
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    return start + parse_duration(duration) * n
