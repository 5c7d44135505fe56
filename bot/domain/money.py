"""Deal amounts: the range we accept and the one way every amount is shown.

Amounts are stored as whole cents. What people type goes through `amount_cents`, which
refuses fractions of a cent (`$0.015` is not 1 cent) and anything outside one cent to
$10B; what we show goes through `format_amount` ($950, $9,999.50, $50K, $1.2M, $10B).
Exports keep the raw numbers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MIN_AMOUNT_CENTS = 1
MAX_AMOUNT_CENTS = 10_000_000_000 * 100  # $10B: anything bigger is a typo
MAX_AMOUNT_TEXT = "$10B"
# Below this an amount is shown exactly ($9,999.50); from it on compactly ($10K).
_COMPACT_FROM_CENTS = 10_000 * 100
_UNITS = ((Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M"), (Decimal(1_000), "K"))
_ONE_DECIMAL = Decimal("0.1")


class AmountOutOfRange(ValueError):
    """An amount we won't store; the message says why, for the person who typed it."""


def amount_cents(dollars: Decimal) -> int:
    """Whole cents for an amount in dollars, or AmountOutOfRange."""
    cents = dollars * 100
    if cents < MIN_AMOUNT_CENTS:
        raise AmountOutOfRange("A deal amount must be at least $0.01.")
    if cents != cents.to_integral_value():
        raise AmountOutOfRange(f"Amounts go to the cent; {format_dollars(dollars)} has a fraction of a cent.")
    if cents > MAX_AMOUNT_CENTS:
        raise AmountOutOfRange(f"Deal amounts go up to {MAX_AMOUNT_TEXT}.")
    return int(cents)


def format_amount(cents: int) -> str:
    """$950, $0.01, $9,999.50, $50K, $1.2M, $10B: at most one decimal once compact."""
    dollars = Decimal(cents) / 100
    if abs(cents) < _COMPACT_FROM_CENTS:
        return format_dollars(dollars)
    sign = "-" if cents < 0 else ""
    dollars = abs(dollars)
    for index, (size, suffix) in enumerate(_UNITS):
        if dollars < size and suffix != "K":
            continue
        scaled = (dollars / size).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
        if scaled >= 1000 and index > 0:  # $999,950 rounds to 1000.0K: say $1M
            size, suffix = _UNITS[index - 1]
            scaled = (dollars / size).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
        return f"{sign}${_trim(scaled)}{suffix}"
    raise AssertionError("the K unit always matches")


def format_dollars(dollars: Decimal) -> str:
    """Exact, with cents only when there are some: $950, $12.50, $0.015."""
    sign = "-" if dollars < 0 else ""
    dollars = abs(dollars)
    if dollars == dollars.to_integral_value():
        return f"{sign}${int(dollars):,}"
    whole = int(dollars)
    fraction = format(dollars - whole, "f")[1:]  # ".5", ".015"
    if len(fraction) == 2:  # ".5" → ".50": cents read as two digits
        fraction += "0"
    return f"{sign}${whole:,}{fraction}"


def _trim(value: Decimal) -> str:
    text = f"{value:,f}"
    return text[:-2] if text.endswith(".0") else text
