"""`plain_fields`: what `dataclasses.asdict` gives for records, without copying values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.record import Record, plain_fields


class Span(Record):
    start: datetime
    end: datetime


class Charged(Record):
    subscription_id: str
    amount: Decimal
    period: Span
    earlier: tuple[Span, ...]
    lines: list[dict[str, Span]]
    note: str | None = None


def sample() -> Charged:
    a, b, c = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3))
    return Charged(
        "sub-1",
        Decimal("9.99"),
        Span(b, c),
        (Span(a, b),),
        [{"first": Span(a, b)}],
    )


def test_it_is_what_asdict_gives() -> None:
    record = sample()
    assert plain_fields(record) == dataclasses.asdict(record)
    assert isinstance(plain_fields(record)["earlier"], tuple)


def test_values_are_shared_not_copied() -> None:
    record = sample()
    assert plain_fields(record)["amount"] is record.amount
    assert plain_fields(record)["period"]["start"] is record.period.start
