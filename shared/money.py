"""Money as integers of the currency's minor unit; decimal strings on the wire."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision, is_currency


def minor_digits(currency: str) -> int:
    if not is_currency(currency):
        raise ValueError(f"unknown currency {currency!r}")
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion; an amount finer than the currency allows is an error."""
    scaled = amount.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def round_to_minor(amount: Decimal, currency: str) -> int:
    """For computed amounts (proration): round half up to the minor unit."""
    return int(amount.scaleb(minor_digits(currency)).quantize(Decimal(1), ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    digits = minor_digits(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_money(minor: int, currency: str) -> str:
    """`"10.00"` for 1000 USD cents; credits come out negative (`"-10.00"`)."""
    return str(from_minor(minor, currency))
