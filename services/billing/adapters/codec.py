"""JSON-document encoding shared by the billing repositories."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as the stores do."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dump_time(moment: datetime) -> str:
    return utc(moment).isoformat()


def load_time(text: str) -> datetime:
    return utc(datetime.fromisoformat(text))
