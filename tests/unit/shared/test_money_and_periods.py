"""Money in minor units and calendar periods."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.money import format_money, round_to_minor, to_minor
from shared.periods import add, inclusive_end, parse_duration


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


def test_terms_end_the_day_before_the_same_date_next_period() -> None:
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert inclusive_end(start, "P1M") == datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
    assert inclusive_end(start, "P1Y") == datetime(2027, 11, 21, 10, 0, tzinfo=UTC)


def test_month_ends_clamp_and_hours_add() -> None:
    assert add(datetime(2026, 1, 31, tzinfo=UTC), "P1M") == datetime(2026, 2, 28, tzinfo=UTC)
    assert add(datetime(2026, 1, 1, tzinfo=UTC), "PT25H") == datetime(2026, 1, 2, 1, tzinfo=UTC)


def test_malformed_durations_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_duration("one month")
