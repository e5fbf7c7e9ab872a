"""Money in minor units and calendar periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.money import format_money, round_to_minor, to_minor
from shared.periods import add, last_day, parse_duration


def test_minor_units_follow_the_currency() -> None:
    assert to_minor(Decimal("10.00"), "USD") == 1000
    assert to_minor(Decimal("12000"), "JPY") == 12000
    assert format_money(1000, "USD") == "10.00"
    assert format_money(-450, "EUR") == "-4.50"
    assert format_money(12000, "JPY") == "12000"


def test_amounts_finer_than_the_currency_are_refused_not_rounded() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("1.005"), "USD")
    with pytest.raises(ValueError, match="unknown currency"):
        to_minor(Decimal("1"), "XYZ")


def test_computed_amounts_round_half_up() -> None:
    assert round_to_minor(Decimal("0.005"), "USD") == 1
    assert round_to_minor(Decimal("0.0049"), "USD") == 0


def test_terms_end_exclusively_where_the_next_one_starts() -> None:
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert add(start, "P1M") == datetime(2026, 12, 22, 10, 0, tzinfo=UTC)
    assert add(start, "P1Y") == datetime(2027, 11, 22, 10, 0, tzinfo=UTC)
    assert add(add(start, "P1M"), "P1M") == datetime(2027, 1, 22, 10, 0, tzinfo=UTC)


def test_the_last_day_is_the_day_before_the_exclusive_end() -> None:
    assert last_day(add(datetime(2026, 11, 23, 9, 30, tzinfo=UTC), "P1M")) == date(2026, 12, 22)
    assert last_day(datetime(2026, 12, 23, tzinfo=UTC)) == date(2026, 12, 22)  # at midnight


def test_month_ends_clamp_and_hours_add() -> None:
    assert add(datetime(2026, 1, 31, tzinfo=UTC), "P1M") == datetime(2026, 2, 28, tzinfo=UTC)
    assert add(datetime(2026, 1, 1, tzinfo=UTC), "PT25H") == datetime(2026, 1, 2, 1, tzinfo=UTC)


def test_malformed_durations_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_duration("one month")
