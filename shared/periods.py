"""Calendar arithmetic for terms and billing periods (ISO 8601 durations)."""

from __future__ import annotations

from datetime import datetime, timedelta

import isodate
from dateutil.relativedelta import relativedelta

BILLING_PERIOD = {"monthly": "P1M", "annual": "P1Y"}


def parse_duration(text: str) -> relativedelta:
    """'P1M', 'P14D', 'PT24H' -> a calendar-aware delta; ValueError when malformed."""
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


def inclusive_end(start: datetime, duration: str) -> datetime:
    """Last day of a term or period: start + duration - 1 day."""
    return add(start, duration) - timedelta(days=1)
