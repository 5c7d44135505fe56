"""Free text from people and from Slack: whitespace folds, other control characters are refused."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from bot.domain.errors import Conflict
from bot.domain.goal_store import parse_target
from bot.domain.grammar import JoinCommand, LogCommand, ParseError, parse_command
from bot.domain.text_input import (
    UnsafeText,
    clean_name,
    parse_page_number,
    parse_record_id,
    require_plain_text,
    unsafe_character,
    whole_number,
)

CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\x9b", "\ud800"]


@pytest.mark.parametrize("character", CONTROL_CHARACTERS)
def test_control_characters_in_a_note_are_refused_with_their_code(character: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse_command(f"3 connects a{character}b")
    assert f"U+{ord(character):04X}" in refused.value.message
    assert "control characters" in refused.value.message


@pytest.mark.parametrize(
    "text", ["join AM\x00ER", "board AM\x00ER", "goals set calls 5 \x00", "deal $5k a\x1bb", "spin \x00"]
)
def test_every_verb_refuses_control_characters_before_it_parses(text: str) -> None:
    with pytest.raises(ParseError, match="U\\+00"):
        parse_command(text)


def test_nul_is_named() -> None:
    with pytest.raises(UnsafeText, match=r"U\+0000 \(NUL\)"):
        require_plain_text("a\x00b", "Notes")


def test_tabs_and_line_breaks_in_a_note_fold_to_one_space() -> None:
    assert parse_command("3 connects Acme\tCFO\r\n  called\x0bback\x85ok") == LogCommand(
        type="connect", quantity=3.0, note="Acme CFO called back ok"
    )
    assert require_plain_text("  two\n\nlines\t ", "Notes") == "two lines"


def test_printable_unicode_is_kept() -> None:
    assert parse_command("3 connects Zürich 😀 — “ok”") == LogCommand("connect", 3.0, "Zürich 😀 — “ok”")
    assert parse_command("join Zürich") == JoinCommand("Zürich")
    assert unsafe_character("Zürich 😀 \u200b") is None


def _refused_by_category(character: str) -> bool:
    # The rule as the module's docstring states it, one character at a time.
    return unicodedata.category(character) in {"Cc", "Cs"} and not character.isspace()


def test_every_code_point_is_refused_exactly_when_its_category_says_so() -> None:
    # unsafe_character searches one precompiled class; this is the rule it stands for.
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        assert (unsafe_character(character) is not None) is _refused_by_category(character), f"U+{code:04X}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bench-42",
        "Zürich 😀 — “ok”",
        "a\tb\nc\rd\x0be\x0cf\x1cg\x1dh\x1ei\x1fj\x85k\u2028l\u2029m\xa0n\u3000",  # whitespace
        "a\u200bb\u200dc\u200ed\ufeffe\u00adf\U000e0001",  # format characters (Cf) are kept
        "\ue000\U000f0000\ufffe\uffff\u0378",  # private use, noncharacters, unassigned
        "ok\x00",
        "\x1b[31m",
        "x\x85y\x86z",  # NEL is whitespace, U+0086 is not
        "a\x9fb\x7fc",
        "ok \udfff then \ud800",
        "Ω\ud83d",  # half of an emoji's surrogate pair
        "é\x01\x02",
    ],
)
def test_unsafe_character_finds_the_first_refused_character(text: str) -> None:
    first = next((character for character in text if _refused_by_category(character)), None)
    assert unsafe_character(text) == first


def test_names_from_slack_are_cleaned_not_refused() -> None:
    assert clean_name("ana\x00\x1b bell\n", "U1", 200) == "ana bell"
    assert clean_name("\x00\x07", "U1", 200) == "U1"
    assert clean_name(None, "U1", 200) == "U1"
    assert clean_name("x" * 300, "U1", 200) == "x" * 200
    assert clean_name("Zo\u00eb\x85\x86\ud800 \u200bLi", "U1", 200) == "Zo\u00eb \u200bLi"


@pytest.mark.parametrize(("value", "page"), [("0", 0), ("3", 3), ("12", 12)])
def test_page_numbers_are_ascii_digits(value: str, page: int) -> None:
    assert parse_page_number(value) == page


@pytest.mark.parametrize("value", ["²", "٣", "-1", "1.0", "", " 1", "9" * 5000, None, 3, ["1"]])
def test_anything_else_is_not_a_page_number(value: object) -> None:
    assert parse_page_number(value) is None


def test_whole_numbers_and_record_ids() -> None:
    assert whole_number("42", 100) == 42
    assert whole_number("101", 100) is None
    assert whole_number("٣", 100) is None
    assert parse_record_id("7") == 7
    assert parse_record_id("0") is None
    assert parse_record_id(str(2**31)) is None  # past PostgreSQL's INTEGER
    assert parse_record_id("²") is None


@pytest.mark.parametrize("typed", ["1e999999", "-1", "²", "nan"])
def test_goal_targets_that_are_no_number_in_range_are_refused(typed: str) -> None:
    with pytest.raises(Conflict):
        parse_target("call", typed)
