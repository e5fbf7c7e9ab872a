"""Pure billing rules: amounts, periods, descriptions, numbering, totals, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from services.billing.domain import invoice as invoices
from services.billing.domain.billing_period import Period, billing_period
from services.billing.domain.events import ChargePosted, InvoiceIssued
from services.billing.domain.ledger import balance, derived_id
from services.billing.domain.subscription import InvalidSubscription
from shared.errors import RuleBroken
from shared.money import format_money
from shared.periods import add
from tests.unit.billing.builders import NOW, first_charge, subscription
from tests.unit.billing.builders import TERM_START as START


@pytest.mark.parametrize(
    ("term", "cycle", "price_minor", "term_end", "period_end", "amount"),
    [
        (
            "P1M",
            "monthly",
            1000,
            datetime(2026, 12, 22, 9, 30, tzinfo=UTC),
            datetime(2026, 12, 22, 9, 30, tzinfo=UTC),
            "50.00",
        ),
        (
            "P1Y",
            "annual",
            10000,
            datetime(2027, 11, 22, 9, 30, tzinfo=UTC),
            datetime(2027, 11, 22, 9, 30, tzinfo=UTC),
            "500.00",
        ),
        (
            "P1Y",
            "monthly",
            900,
            datetime(2027, 11, 22, 9, 30, tzinfo=UTC),
            datetime(2026, 12, 22, 9, 30, tzinfo=UTC),
            "45.00",
        ),
    ],
    ids=["monthly-P1M", "annual-P1Y", "monthly-billed-P1Y"],
)
def test_first_charge_is_one_billing_period_of_all_seats(
    term: str, cycle: str, price_minor: int, term_end: datetime, period_end: datetime, amount: str
) -> None:
    sub = subscription(
        term_duration=term, billing_cycle=cycle, price_per_seat=price_minor, term_end=term_end
    )
    line = first_charge(sub)
    assert line.period == Period(start=START, end=period_end)
    assert line.amount == 5 * price_minor
    assert format_money(line.amount, "USD") == amount
    assert (line.type, line.quantity, line.unit_price) == ("charge", 5, price_minor)


def test_a_zero_decimal_currency_charges_whole_units() -> None:
    line = first_charge(subscription(currency="JPY", price_per_seat=1200, quantity=10))
    assert line.amount == 12000
    assert format_money(line.amount, "JPY") == "12000"


def test_period_ends_exclusively_at_the_same_moment_next_cycle() -> None:
    assert billing_period(START, "monthly", START.replace(year=2030)).end == datetime(
        2026, 12, 22, 9, 30, tzinfo=UTC
    )
    assert billing_period(START, "annual", START.replace(year=2030)).end == datetime(
        2027, 11, 22, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(("year", "february_end"), [(2026, 28), (2028, 29)], ids=["2026", "leap"])
def test_consecutive_monthly_periods_tile_across_a_month_end(year: int, february_end: int) -> None:
    term_end = datetime(2030, 1, 1, tzinfo=UTC)
    january = billing_period(datetime(year, 1, 31, 9, 30, tzinfo=UTC), "monthly", term_end)
    february = billing_period(january.end, "monthly", term_end)
    march = billing_period(february.end, "monthly", term_end)
    assert january.end == datetime(year, 2, february_end, 9, 30, tzinfo=UTC)  # Jan 31 clamps
    # each next period starts exactly where the last ended, so the clamped day carries on
    assert (february.start, march.start) == (january.end, february.end)
    assert february.end == datetime(year, 3, february_end, 9, 30, tzinfo=UTC)


def test_a_p1y_term_billed_monthly_is_twelve_periods_tiling_the_term_exactly() -> None:
    term_end = add(START, "P1Y")
    periods = [billing_period(START, "monthly", term_end)]
    while periods[-1].end < term_end:
        periods.append(billing_period(periods[-1].end, "monthly", term_end))
    assert len(periods) == 12
    assert periods[0].start == START and periods[-1].end == term_end
    assert all(earlier.end == later.start for earlier, later in pairwise(periods))


def test_period_never_runs_past_the_term_end() -> None:
    term_end = datetime(2026, 12, 5, tzinfo=UTC)
    assert billing_period(START, "annual", term_end) == Period(start=START, end=term_end)
    assert subscription(term_end=term_end).first_period().end == term_end


@pytest.mark.parametrize("length", [timedelta(0), timedelta(hours=-1)], ids=["empty", "reversed"])
def test_a_period_ending_at_or_before_its_start_is_refused(length: timedelta) -> None:
    with pytest.raises(ValueError, match="period ends"):
        Period(start=START, end=START + length)


def test_unknown_billing_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="billing cycle"):
        billing_period(START, "weekly", START)


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": 0},
        {"price_per_seat": -1},
        {"currency": "XYZ1"},
        {"billing_cycle": "weekly"},
        {"term_end": datetime(2026, 11, 1, tzinfo=UTC)},
        {"term_end": START},
    ],
    ids=[
        "no-seats",
        "negative-price",
        "unknown-currency",
        "unknown-cycle",
        "term-ends-first",
        "empty-term",
    ],
)
def test_unbillable_subscription_facts_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidSubscription) as refused:
        subscription(**overrides)
    assert isinstance(refused.value, RuleBroken)  # the vocabulary's, named in the stall log


def test_ledger_line_id_is_derived_from_the_event_and_the_line_kind() -> None:
    sub = subscription()
    assert (
        first_charge(sub, "evt-1").id
        == first_charge(sub, "evt-1").id
        == derived_id("evt-1", "charge")
    )
    assert first_charge(sub, "evt-2").id != first_charge(sub, "evt-1").id
    assert derived_id("evt-1", "charge") != derived_id("evt-1", "invoice")


def test_balance_sums_charges_and_credits() -> None:
    charge = first_charge(subscription())
    credit = charge.model_copy(update={"id": "c", "type": "credit", "amount": -charge.amount})
    assert balance([charge]) == 5000
    assert balance([charge, credit]) == 0


def test_description_names_offer_plan_seats_and_first_and_last_day() -> None:
    sub = subscription()
    assert first_charge(sub).period.end == datetime(2026, 12, 22, 9, 30, tzinfo=UTC)
    assert invoices.describe(sub, first_charge(sub)) == (
        "Contoso CRM / standard: 5 seats, 2026-11-22 to 2026-12-21"
    )
    one = subscription(quantity=1)
    assert "1 seat," in invoices.describe(one, first_charge(one))


def test_description_of_a_period_shorter_than_a_day_names_that_one_day() -> None:
    sub = subscription(term_end=START + timedelta(hours=3))
    assert invoices.describe(sub, first_charge(sub)).endswith("2026-11-22 to 2026-11-22")


def test_document_numbers_are_zero_padded_per_kind() -> None:
    assert invoices.format_number("invoice", 1) == "INV-000001"
    assert invoices.format_number("invoice", 42) == "INV-000042"
    assert invoices.format_number("creditNote", 1) == "CN-000001"
    assert invoices.format_number("invoice", 1234567) == "INV-1234567"
    assert invoices.sequence_name("invoice") != invoices.sequence_name("creditNote")
    with pytest.raises(ValueError):
        invoices.format_number("invoice", 0)


def issue(
    kind: invoices.DocumentKind, amounts: list[int], number: int = 1, issued_at: datetime = NOW
) -> invoices.Invoice:
    line = first_charge(subscription())
    items = [
        invoices.InvoiceLine.for_ledger_line(line.model_copy(update={"amount": a}), "x")
        for a in amounts
    ]
    return invoices.Invoice.issue(
        document_id=f"{kind}-{number}",
        kind=kind,
        sequence_number=number,
        subscription_id="sub-1",
        customer_id="cust-1",
        csp_partner_id="partner-a",
        currency="USD",
        issued_at=issued_at,
        line_items=items,
    )


def test_invoice_total_is_the_sum_of_its_lines() -> None:
    document = issue("invoice", [5000, 2500, -500])
    assert document.total == 7000
    assert document.number == "INV-000001"
    assert document.line_items[0].period_start == START


def test_invoice_below_zero_or_credit_note_above_zero_or_empty_is_refused() -> None:
    with pytest.raises(ValueError, match="credit note"):
        issue("invoice", [-100])
    with pytest.raises(ValueError, match="invoice"):
        issue("creditNote", [100])
    with pytest.raises(ValueError, match="at least one"):
        issue("invoice", [])
    assert issue("creditNote", [-100]).number == "CN-000001"


def test_newest_first_orders_by_issue_time_then_number() -> None:
    later = datetime(2026, 12, 1, tzinfo=UTC)
    a, b, c = issue("invoice", [1], 1), issue("invoice", [1], 2), issue("invoice", [1], 3, later)
    assert [d.number for d in invoices.newest_first([a, b, c])] == [
        "INV-000003",
        "INV-000002",
        "INV-000001",
    ]


def test_posting_a_line_records_charge_posted_keyed_by_the_subscription() -> None:
    line = first_charge(subscription())
    assert line.events == [
        ChargePosted(
            "sub-1",
            charge_id=line.id,
            customer_id="cust-1",
            csp_partner_id="partner-a",
            type="charge",
            amount=5000,
            currency="USD",
            period=line.period,
            invoice_id="inv-1",
        )
    ]


def test_issuing_records_invoice_issued_keyed_by_the_subscription_it_bills() -> None:
    document = issue("invoice", [5000, 2500])
    assert document.events == [
        InvoiceIssued(
            "sub-1",
            invoice_id="invoice-1",
            number="INV-000001",
            kind="invoice",
            customer_id="cust-1",
            csp_partner_id="partner-a",
            currency="USD",
            total=7500,
            issued_at=NOW,
        )
    ]


def test_lines_and_documents_are_immutable_once_made() -> None:
    line, document = first_charge(subscription()), issue("invoice", [1])
    with pytest.raises(ValueError):
        line.amount = 1
    with pytest.raises(ValueError):
        document.number = "INV-000009"


def test_moments_are_kept_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    term_end = add(START, "P1M")
    sub = subscription(
        term_start=START.astimezone(plus_two), term_end=term_end.replace(tzinfo=None)
    )
    assert sub.term_start == START and sub.term_start.tzinfo is UTC
    assert sub.term_end == term_end
    assert sub.term_end.tzinfo is UTC  # naive is taken as UTC, as the stores do
