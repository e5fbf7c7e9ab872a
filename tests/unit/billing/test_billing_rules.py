"""Pure billing rules: amounts, periods, descriptions, numbering, totals."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from services.billing.domain import invoice as invoices
from services.billing.domain.billing_period import Period, billing_period
from services.billing.domain.ledger import balance, derived_id, period_charge
from services.billing.domain.subscription import BilledSubscription, InvalidSubscription
from shared.money import format_money

START = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 9, 31, tzinfo=UTC)


def subscription(**overrides: object) -> BilledSubscription:
    fields: dict[str, object] = dict(
        id="sub-1",
        customer_id="cust-1",
        csp_partner_id="partner-a",
        publisher_id="contoso",
        offer_id="contoso-crm",
        offer_name="Contoso CRM",
        plan_id="standard",
        currency="USD",
        price_per_seat=1000,
        quantity=5,
        term_duration="P1M",
        billing_cycle="monthly",
        term_start=START,
        term_end=datetime(2026, 12, 21, 9, 30, tzinfo=UTC),
        auto_renew_enabled=True,
        correlation_id="purchase-1",
    )
    fields.update(overrides)
    return BilledSubscription(**fields)  # type: ignore[arg-type]


def first_charge(sub: BilledSubscription, event_id: str = "evt-1"):  # -> LedgerLine
    return period_charge(
        sub, sub.first_period(), event_id=event_id, posted_at=NOW, invoice_id="inv-1"
    )


@pytest.mark.parametrize(
    ("term", "cycle", "price_minor", "term_end", "period_end", "amount"),
    [
        (
            "P1M",
            "monthly",
            1000,
            datetime(2026, 12, 21, 9, 30, tzinfo=UTC),
            datetime(2026, 12, 21, 9, 30, tzinfo=UTC),
            "50.00",
        ),
        (
            "P1Y",
            "annual",
            10000,
            datetime(2027, 11, 21, 9, 30, tzinfo=UTC),
            datetime(2027, 11, 21, 9, 30, tzinfo=UTC),
            "500.00",
        ),
        (
            "P1Y",
            "monthly",
            900,
            datetime(2027, 11, 21, 9, 30, tzinfo=UTC),
            datetime(2026, 12, 21, 9, 30, tzinfo=UTC),
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
    assert line.period == Period(START, period_end)
    assert line.amount == 5 * price_minor
    assert format_money(line.amount, "USD") == amount
    assert (line.type, line.quantity, line.unit_price) == ("charge", 5, price_minor)


def test_a_zero_decimal_currency_charges_whole_units() -> None:
    line = first_charge(subscription(currency="JPY", price_per_seat=1200, quantity=10))
    assert line.amount == 12000
    assert format_money(line.amount, "JPY") == "12000"


def test_period_ends_the_day_before_the_same_date_next_cycle() -> None:
    assert billing_period(START, "monthly", START.replace(year=2030)).end == datetime(
        2026, 12, 21, 9, 30, tzinfo=UTC
    )
    assert billing_period(START, "annual", START.replace(year=2030)).end == datetime(
        2027, 11, 21, 9, 30, tzinfo=UTC
    )


def test_period_never_runs_past_the_term_end() -> None:
    term_end = datetime(2026, 12, 5, tzinfo=UTC)
    assert billing_period(START, "annual", term_end) == Period(START, term_end)
    assert subscription(term_end=term_end).first_period().end == term_end


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
    ],
    ids=["no-seats", "negative-price", "unknown-currency", "unknown-cycle", "term-ends-first"],
)
def test_unbillable_subscription_facts_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidSubscription):
        subscription(**overrides)


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
    credit = dataclasses.replace(charge, id="c", type="credit", amount=-charge.amount)
    assert balance([charge]) == 5000
    assert balance([charge, credit]) == 0


def test_description_names_offer_plan_seats_and_dates() -> None:
    sub = subscription()
    assert invoices.describe(sub, first_charge(sub)) == (
        "Contoso CRM / standard: 5 seats, 2026-11-22 to 2026-12-21"
    )
    one = subscription(quantity=1)
    assert "1 seat," in invoices.describe(one, first_charge(one))


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
        invoices.InvoiceLine.for_ledger_line(dataclasses.replace(line, amount=a), "x")
        for a in amounts
    ]
    return invoices.issue(
        document_id=f"{kind}-{number}",
        kind=kind,
        sequence_number=number,
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
