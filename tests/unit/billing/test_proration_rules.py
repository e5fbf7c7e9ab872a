"""Pure rules: the day-count convention of prorations, and which billing periods a
subscription has, holds and owes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.billing.domain.billing_period import Period
from services.billing.domain.ledger import LedgerLine, cancellation_credits
from services.billing.domain.proration import days_in, prorate, remaining_days
from shared.periods import add
from tests.unit.billing.builders import NOW, subscription

# The README's example: a 30-day monthly period.
PERIOD = Period(
    start=datetime(2026, 11, 23, 10, tzinfo=UTC), end=datetime(2026, 12, 23, 10, tzinfo=UTC)
)


def test_the_readme_example_five_more_seats_for_twenty_of_thirty_days() -> None:
    accepted = datetime(2026, 12, 3, 15, tzinfo=UTC)  # 19 days 19 hours before the end
    assert days_in(PERIOD) == 30
    assert remaining_days(PERIOD, accepted) == 20  # a begun day counts in full
    assert prorate(5 * 1000, PERIOD, accepted) == 3333  # 33.333... -> 33.33
    assert prorate(-5 * 1000, PERIOD, accepted) == -3333  # the credit mirrors it


def test_half_a_minor_unit_rounds_up_away_from_zero_exactly() -> None:
    last_day = PERIOD.end - timedelta(days=1)
    # 15 x 1/30 = 0.5 exactly: a float (or dividing first) would see 0.4999... and round down
    assert prorate(15, PERIOD, last_day) == 1
    assert prorate(-15, PERIOD, last_day) == -1
    assert prorate(14, PERIOD, last_day) == 0  # 0.4666... stays down
    half_period = PERIOD.start + timedelta(days=15)
    assert prorate(1001, PERIOD, half_period) == 501  # 500.5
    assert prorate(-1001, PERIOD, half_period) == -501


def test_a_change_at_the_period_start_owes_the_full_period() -> None:
    assert remaining_days(PERIOD, PERIOD.start) == 30
    assert prorate(3 * 1000, PERIOD, PERIOD.start) == 3000


def test_a_change_one_second_before_the_end_owes_one_day() -> None:
    since = PERIOD.end - timedelta(seconds=1)
    assert remaining_days(PERIOD, since) == 1
    assert prorate(3 * 1000, PERIOD, since) == 100


def test_a_period_shorter_than_a_day_counts_as_one_day() -> None:
    short = Period(start=PERIOD.start, end=PERIOD.start + timedelta(hours=3))
    assert (days_in(short), remaining_days(short, short.start)) == (1, 1)
    assert prorate(500, short, short.start + timedelta(hours=2)) == 500


def test_an_instant_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError):
        remaining_days(PERIOD, PERIOD.end)
    with pytest.raises(ValueError):
        remaining_days(PERIOD, PERIOD.start - timedelta(seconds=1))


def test_month_end_periods_are_counted_from_the_term_start() -> None:
    start = datetime(2026, 1, 31, 9, tzinfo=UTC)
    sub = subscription(
        term_start=start, term_end=add(start, "P1Y"), term_duration="P1Y", billing_cycle="monthly"
    )
    first, second, third = sub.period(0), sub.period(1), sub.period(2)
    assert first.end == second.start == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert second.end == third.start == datetime(2026, 3, 31, 9, tzinfo=UTC)  # no drift to 28
    assert (days_in(first), days_in(second)) == (28, 31)
    # A seat more from March 1: 30 of the 31 days of the second period.
    assert prorate(1000, second, datetime(2026, 3, 1, 9, tzinfo=UTC)) == 968  # 967.74...
    periods = list(sub.periods())
    assert len(periods) == 12 and periods[-1].end == sub.term_end


def test_the_last_period_is_clamped_to_the_term_end() -> None:
    term_end = NOW.replace(year=2027, month=2, day=5)
    sub = subscription(term_duration="P1Y", billing_cycle="monthly", term_end=term_end)
    assert list(sub.periods())[-1] == Period(start=sub.period(2).start, end=term_end)


def test_due_periods_follow_the_last_charged_one_and_only_while_active() -> None:
    sub = subscription(term_duration="P1Y", billing_cycle="monthly", term_end=add(NOW, "P1Y"))
    assert sub.charged_periods == [sub.period(0)]  # the activation charged it
    assert sub.due_periods(sub.period(1).start - timedelta(seconds=1)) == []
    assert sub.due_periods(sub.period(1).start) == [sub.period(1)]
    assert sub.due_periods(sub.period(3).start) == [sub.period(1), sub.period(2), sub.period(3)]
    sub.suspend()
    assert sub.due_periods(sub.period(3).start) == []
    sub.reinstate()
    sub.mark_charged(sub.period(2))  # a reinstatement charged the rest of period 2
    assert sub.due_periods(sub.period(3).start) == [sub.period(3)]  # period 1 stays skipped


def test_the_period_at_an_instant_is_a_charged_one_or_one_of_the_term() -> None:
    sub = subscription(term_duration="P1Y", billing_cycle="monthly", term_end=add(NOW, "P1Y"))
    inside = sub.period(4).start + timedelta(days=3)
    assert sub.period_at(inside) == sub.period(4)
    assert sub.period_at(sub.term_end) is None
    old = sub.period(0)
    sub.renew(sub.term_end, add(sub.term_end, "P1Y"), 5)
    assert sub.period_at(old.start) == old  # charged in the old term: still found


def lines(*specs: tuple[str, datetime, datetime, int, int]) -> list[LedgerLine]:
    sub = subscription()
    return [
        LedgerLine.post(
            sub,
            line_type=kind,  # type: ignore[arg-type]
            period=Period(start=start, end=end),
            quantity=quantity,
            amount=amount,
            event_id="e",
            posted_at=NOW,
            invoice_id="i",
        )
        for kind, start, end, quantity, amount in specs
    ]


def test_a_cancellation_credits_each_billing_period_once_merging_its_lines() -> None:
    p0, p1 = PERIOD, Period(start=PERIOD.end, end=add(PERIOD.end, "P1M"))
    mid = p0.start + timedelta(days=10)
    credits = cancellation_credits(
        lines(
            ("charge", p0.start, p0.end, 5, 5000),
            ("proration", mid, p0.end, 3, 2000),
            ("proration", mid + timedelta(days=1), p0.end, -1, -633),
            ("renewal", p1.start, p1.end, 7, 7000),
        )
    )
    assert [(c.period, c.quantity, c.amount) for c in credits] == [
        (p0, -7, -6367),  # the charge and both prorations of p0, as one line
        (p1, -7, -7000),
    ]


def test_a_period_credited_already_is_not_credited_again() -> None:
    p0 = PERIOD
    credits = cancellation_credits(
        lines(("charge", p0.start, p0.end, 5, 5000), ("credit", p0.start, p0.end, -5, -5000))
    )
    assert credits == []
