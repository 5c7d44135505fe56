"""Deal amounts: one formatter for every message, and the range `/pg deal` accepts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.domain.grammar import ParseError, parse_amount, parse_command
from bot.domain.money import MAX_AMOUNT_CENTS, AmountOutOfRange, amount_cents, format_amount


@pytest.mark.parametrize(
    ("cents", "shown"),
    [
        (1, "$0.01"),
        (50, "$0.50"),
        (1_234, "$12.34"),
        (95_000, "$950"),
        (123_456, "$1,234.56"),
        (999_999, "$9,999.99"),
        (1_000_000, "$10K"),
        (5_000_000, "$50K"),
        (5_050_000, "$50.5K"),
        (99_994_000, "$999.9K"),
        (99_995_000, "$1M"),  # 999.95K rounds to 1000.0K: shown in the next unit
        (100_000_000, "$1M"),
        (120_000_000, "$1.2M"),
        (123_456_789, "$1.2M"),
        (99_995_000_000, "$1B"),
        (150_000_000_000, "$1.5B"),
        (MAX_AMOUNT_CENTS, "$10B"),
    ],
)
def test_amounts_are_shown_exactly_when_small_and_compactly_when_large(cents: int, shown: str) -> None:
    assert format_amount(cents) == shown


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("$0.01", 1),
        ("$950", 95_000),
        ("$50k", 5_000_000),
        ("$1.2M", 120_000_000),
        ("$10b", MAX_AMOUNT_CENTS),
        ("$10,000,000,000", MAX_AMOUNT_CENTS),
        ("$1,234.50", 123_450),
        ("$1.23456k", 123_456),
    ],
)
def test_amounts_in_range_are_read_to_the_cent(typed: str, cents: int) -> None:
    assert parse_amount(typed) == cents


def test_ten_billion_is_shown_as_ten_billion_in_the_reply() -> None:
    entry = parse_command("deal $10b")
    assert entry.amount_cents is not None  # type: ignore[union-attr]
    assert format_amount(entry.amount_cents) == "$10B"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("$0.015", "fraction of a cent"),
        ("$0.001", "at least $0.01"),
        ("$0", "at least $0.01"),
        ("$0.00", "at least $0.01"),
        ("$10,000,000,000.01", "up to $10B"),
        ("$10.1b", "up to $10B"),
        ("$99999b", "up to $10B"),
    ],
)
def test_amounts_outside_the_range_are_refused_and_say_why(typed: str, reason: str) -> None:
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse_command(f"deal {typed} Acme")


def test_the_range_check_itself() -> None:
    assert amount_cents(Decimal("0.01")) == 1
    assert amount_cents(Decimal("10000000000")) == MAX_AMOUNT_CENTS
    for dollars in ("0.015", "0.009", "10000000000.01", "-5"):
        with pytest.raises(AmountOutOfRange):
            amount_cents(Decimal(dollars))
