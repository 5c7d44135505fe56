"""The /pg grammar: every type and alias, both word orders, notes, amounts, and refusals."""

from __future__ import annotations

import pytest

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.grammar import (
    BoardCommand,
    HelpCommand,
    JobChange,
    JoinCommand,
    LogCommand,
    MeCommand,
    OtherCommand,
    ParseError,
    RoleCommand,
    UndoCommand,
    parse_amount,
    parse_command,
    parse_job_change,
    parse_user_mention,
)


@pytest.mark.parametrize(
    ("word", "key"),
    [(word, t.key) for t in ACTIVITY_TYPES.values() for word in (t.key, *t.aliases) if t.key not in ("deal", "hour")],
)
def test_every_type_and_alias_logs_in_both_orders(word: str, key: str) -> None:
    expected = LogCommand(type=key, quantity=3.0)
    assert parse_command(f"3 {word}") == expected
    assert parse_command(f"log 3 {word}") == expected
    assert parse_command(f"log {word} 3") == expected
    assert parse_command(f"3 {word.upper()}") == expected


def test_notes_are_kept_verbatim() -> None:
    assert parse_command("2 meetings with Acme <CFO> & team 🎉") == LogCommand(
        type="meeting", quantity=2.0, note="with Acme <CFO> & team 🎉"
    )


@pytest.mark.parametrize(
    ("text", "hours"),
    [("1.5h", 1.5), ("2 hours", 2.0), ("log 0.5 h", 0.5), ("24 hrs", 24.0), ("log hours 3.5", 3.5), ("1,5h", 1.5)],
)
def test_hours_accept_halves(text: str, hours: float) -> None:
    assert parse_command(text) == LogCommand(type="hour", quantity=hours)


@pytest.mark.parametrize("text", ["0.25h", "1.7 hours", "25 hours", "0 hours", "-1h", "0.4h"])
def test_hours_outside_halves_are_refused(text: str) -> None:
    with pytest.raises(ParseError, match="halves"):
        parse_command(text)


@pytest.mark.parametrize(
    ("text", "cents", "note"),
    [
        ("deal $50k Acme renewal", 5_000_000, "Acme renewal"),
        ("deal $1.2M", 120_000_000, None),
        ("deal 50000", 5_000_000, None),
        ("deal $50,000 big one", 5_000_000, "big one"),
        ("win $2b", 200_000_000_000, None),
        ("deal", None, None),
        ("deal just a note", None, "just a note"),
    ],
)
def test_deals_with_amounts(text: str, cents: int | None, note: str | None) -> None:
    assert parse_command(text) == LogCommand(type="deal", quantity=1.0, note=note, amount_cents=cents)


def test_plural_deals_is_a_count() -> None:
    assert parse_command("2 deals") == LogCommand(type="deal", quantity=2.0)
    assert parse_command("log deals 2") == LogCommand(type="deal", quantity=2.0)


@pytest.mark.parametrize("amount", ["$0", "$-5", "$20b", "$abc", "$1.2.3"])
def test_bad_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ParseError):
        parse_amount(amount)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0 calls", "1 to 500"),
        ("-3 calls", "1 to 500"),
        ("501 calls", "1 to 500"),
        ("99999999999999999999 calls", "1 to 500"),
        ("1.5 calls", "whole numbers"),
        ("calls", "How many"),
        ("3", "of what"),
        ("3 conects", "Did you mean *connects*"),
        ("3 unicorns", "Types:"),
        ("'; DROP TABLE activities; --", "don't know"),
        ("🎉🎉🎉 5", "don't know"),
        ("log", "What should I log"),
        ("join", "Which region"),
        ("join AMER EMEA", "Which region"),
        ("role U123 manager", "isn't a person"),
        ("role <@U123> overlord", "isn't a role"),
        ("board AMER week connects extra", "can't place"),
        ("undo now", "isn't needed"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_command(text)
    assert fragment in caught.value.message
    assert caught.value.usage.startswith("/pg")


def test_ten_kilobytes_are_refused() -> None:
    with pytest.raises(ParseError, match="too long"):
        parse_command("3 connects " + "x" * 10_000)


def test_long_note_is_refused_not_truncated() -> None:
    with pytest.raises(ParseError, match="500 characters"):
        parse_command("3 connects " + "y" * 501)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", HelpCommand()),
        ("help", HelpCommand()),
        ("join emea", JoinCommand("emea")),
        ("undo", UndoCommand()),
        ("me", MeCommand()),
        ("board", BoardCommand()),
        ("board all", BoardCommand(region="all")),
        ("board EMEA today meetings", BoardCommand(region="EMEA", period="today", type="meeting")),
        ("board quarter qbms APAC", BoardCommand(region="APAC", period="quarter", type="qbm")),
        ("board week by goal", BoardCommand(period="week", by_goal=True)),
        ("role <@U0ABC|sam> leader", RoleCommand(user_id="U0ABC", role="leader")),
        ("goals set call 20 all", OtherCommand("goals", ("set", "call", "20", "all"))),
        ("job <@U0ABC|sam> SDR", OtherCommand("job", ("<@U0ABC|sam>", "SDR"))),
    ],
)
def test_other_commands(text: str, command: object) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("word", "user_id"),
    [
        ("<@U0ABC>", "U0ABC"),
        ("<@W0ENTERPRISE|sam>", "W0ENTERPRISE"),
        ("U0ABC", None),  # a bare id isn't a mention
        ("@sam", None),
        ("<#C0CHANNEL>", None),
        ("<@U0ABC> extra", None),
    ],
)
def test_parse_user_mention(word: str, user_id: str | None) -> None:
    assert parse_user_mention(word) == user_id


@pytest.mark.parametrize(
    ("args", "change"),
    [
        (("<@U0ABC|sam>", "SDR"), JobChange("U0ABC", "sdr")),
        (("ae", "<@W0ENT>"), JobChange("W0ENT", "ae")),
    ],
)
def test_job_change_takes_a_mention_and_a_job(args: tuple[str, ...], change: JobChange) -> None:
    assert parse_job_change(args) == change


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "Mention one person and their job"),
        (("<@U0ABC>",), "Mention one person and their job"),
        (("sam", "sdr"), "`sam` isn't a person"),
        (("<@U0ABC>", "bdr"), "`bdr` isn't a job. Jobs are ae and sdr."),
    ],
)
def test_job_change_refusals_show_the_usage(args: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse_job_change(args)
    assert fragment in refused.value.message and refused.value.usage == "/pg job @user ae|sdr"
