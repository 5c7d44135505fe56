"""The `/pg` grammar: turns the text after `/pg` into a typed command, or a helpful error.

Pure: knows nothing of Slack or the database. Every refusal quotes the input and shows
the closest correct usage, and nothing is stored for input that does not parse.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bot.domain import member_roles
from bot.domain.activity_types import (
    ACTIVITY_TYPES,
    MAX_COUNT,
    MAX_HOURS,
    MIN_COUNT,
    MIN_HOURS,
    ActivityType,
    all_type_words,
    lookup_type,
)
from bot.domain.member_roles import JOBS
from bot.domain.money import AmountOutOfRange, amount_cents
from bot.domain.text_input import UnsafeText, require_plain_text

MAX_NOTE_LENGTH = 500
MAX_INPUT_LENGTH = 1_000
PERIODS = ("today", "week", "month", "quarter")
# `/pg role` gives every role but admin (admins are made with the CLI or PIPEDAY_ADMINS).
ROLES = tuple(role for role in member_roles.ROLES if role != "admin")

USAGE = {
    "log": "/pg 3 connects [note]",
    "deal": "/pg deal $50k [note]",
    "join": "/pg join AMER",
    "board": "/pg board [region|all] [today|week|month|quarter] [type] [verified]",
    "role": "/pg role @user rep|leader|manager",
    "job": "/pg job @user ae|sdr",
    "undo": "/pg undo",
    "tv": "/pg tv [region]",
    "lift": "/pg lift [region]",
    "dispute": "/pg dispute @user [reason]",
    "help": "/pg help",
}


class ParseError(ValueError):
    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class JoinCommand:
    region: str


@dataclass(frozen=True)
class LogCommand:
    type: str
    quantity: float
    note: str | None = None
    amount_cents: int | None = None


@dataclass(frozen=True)
class UndoCommand:
    pass


@dataclass(frozen=True)
class BoardCommand:
    region: str | None = None  # None = the caller's region; "all" = every region
    period: str | None = None  # None = the default for today
    type: str | None = None
    by_goal: bool = False
    verified: bool = False  # count only activity recorded by a system, not typed in Slack


@dataclass(frozen=True)
class MeCommand:
    pass


@dataclass(frozen=True)
class RoleCommand:
    user_id: str
    role: str


@dataclass(frozen=True)
class OtherCommand:
    """A verb handled by a feature module that parses its own arguments (goals, plan, spin…)."""

    verb: str
    args: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class JobChange:
    """`/pg job @user ae|sdr` (a delegated verb: bot.features.membership parses it with parse_job_change)."""

    user_id: str
    job: str


Command = HelpCommand | JoinCommand | LogCommand | UndoCommand | BoardCommand | MeCommand | RoleCommand | OtherCommand

# Verbs owned by feature modules; the grammar only splits their arguments.
DELEGATED_VERBS = frozenset({"goals", "plan", "close", "spin", "days", "summary", "job", "tv", "lift", "dispute"})

_NUMBER_WITH_UNIT = re.compile(r"^(-?\d+(?:[.,]\d+)?)([a-z]+)$")
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>$")
_AMOUNT = re.compile(r"^\$?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)([kmb])?$", re.IGNORECASE)


def parse_command(text: str) -> Command:
    text = (text or "").strip()
    try:
        # Refused before anything else, so no verb (delegated ones included) sees them.
        require_plain_text(text, "Commands")
    except UnsafeText as error:
        raise ParseError(error.message, USAGE["log"]) from None
    if len(text) > MAX_INPUT_LENGTH:
        raise ParseError(
            f"That's {len(text):,} characters — too long for a log. Keep notes under {MAX_NOTE_LENGTH}.",
            USAGE["log"],
        )
    words = text.split()
    if not words or words[0].lower() in ("help", "?", "-h", "--help"):
        return HelpCommand()
    verb, rest = words[0].lower(), words[1:]
    if verb == "join":
        return _parse_join(rest)
    if verb == "undo":
        return _no_arguments(UndoCommand(), rest, "undo")
    if verb == "me":
        return _no_arguments(MeCommand(), rest, "help")
    if verb in ("board", "leaderboard", "lb"):
        return _parse_board(rest)
    if verb == "role":
        return _parse_role(rest)
    if verb in DELEGATED_VERBS:
        return OtherCommand(verb, tuple(rest))
    if verb == "log":
        if not rest:
            raise ParseError("What should I log?", USAGE["log"])
        return _parse_log(rest)
    return _parse_log(words)


def _no_arguments(command: Command, rest: list[str], usage_key: str) -> Command:
    if rest:
        raise ParseError(f"`{' '.join(rest)}` isn't needed here.", USAGE[usage_key])
    return command


def _parse_join(rest: list[str]) -> JoinCommand:
    if len(rest) != 1:
        raise ParseError("Which region? Give its name, for example AMER.", USAGE["join"])
    return JoinCommand(region=rest[0])


def parse_user_mention(word: str) -> str | None:
    """The user id in a Slack @mention (`<@U123>` or `<@U123|name>`), or None if `word` isn't one."""
    mention = _USER_MENTION.match(word)
    return mention.group(1) if mention else None


def _parse_role(rest: list[str]) -> RoleCommand:
    if len(rest) != 2:
        raise ParseError("Mention one person and one role.", USAGE["role"])
    user_id = parse_user_mention(rest[0])
    if user_id is None:
        raise ParseError(f"`{rest[0]}` isn't a person — mention them with @.", USAGE["role"])
    role = rest[1].lower()
    if role not in ROLES:
        raise ParseError(f"`{rest[1]}` isn't a role. Roles are rep, leader and manager.", USAGE["role"])
    return RoleCommand(user_id=user_id, role=role)


def parse_job_change(args: tuple[str, ...] | list[str]) -> JobChange:
    """The arguments of `/pg job`: one @mention and `ae` or `sdr`, in either order."""
    if len(args) != 2:
        raise ParseError("Mention one person and their job, AE or SDR.", USAGE["job"])
    first, second = args
    if parse_user_mention(first) is None and parse_user_mention(second) is not None:
        first, second = second, first  # "/pg job sdr @sam"
    user_id = parse_user_mention(first)
    if user_id is None:
        raise ParseError(f"`{first}` isn't a person — mention them with @.", USAGE["job"])
    job = second.lower()
    if job not in JOBS:
        raise ParseError(f"`{second}` isn't a job. Jobs are ae and sdr.", USAGE["job"])
    return JobChange(user_id=user_id, job=job)


def _parse_board(rest: list[str]) -> BoardCommand:
    region: str | None = None
    period: str | None = None
    activity_type: str | None = None
    by_goal = verified = False
    words = list(rest)
    if len(words) >= 2 and words[-2].lower() == "by" and words[-1].lower() in ("goal", "goals"):
        by_goal, words = True, words[:-2]
    for word in words:
        lowered = word.lower()
        found_type = lookup_type(lowered)
        if lowered == "verified" and not verified:
            verified = True
        elif lowered in PERIODS and period is None:
            period = lowered
        elif found_type is not None and activity_type is None:
            activity_type = found_type.key
        elif region is None and re.fullmatch(r"[\w-]{1,64}", word):
            region = "all" if lowered == "all" else word
        else:
            raise ParseError(f"I can't place `{word}` in a board request.", USAGE["board"])
    if verified and by_goal:
        raise ParseError(
            "A board by goal counts all activity; ask for `verified` or `by goal`, not both.", USAGE["board"]
        )
    return BoardCommand(region=region, period=period, type=activity_type, by_goal=by_goal, verified=verified)


def _parse_log(words: list[str]) -> LogCommand:
    # "/pg deal [$amount]" takes an amount; "/pg 2 deals" or "/pg deals 2" is a count.
    if words[0].lower() in ("deal", "win"):
        return _parse_deal(words[1:])
    count_word, type_word, note_words = _split_count_and_type(words)
    activity_type = _resolve_type(type_word)
    quantity = _parse_quantity(count_word, activity_type)
    return LogCommand(type=activity_type.key, quantity=quantity, note=_note(note_words))


def _looks_like_amount(word: str) -> bool:
    return word.startswith("$") or word[-1:].lower() in ("k", "m", "b") or "," in word


def _split_count_and_type(words: list[str]) -> tuple[str | None, str, list[str]]:
    first = words[0].lower()
    glued = _NUMBER_WITH_UNIT.match(first)
    if glued:  # "1.5h", "3connects"
        return glued.group(1), glued.group(2), words[1:]
    if _NUMBER.match(first):
        if len(words) < 2:
            raise ParseError(f"{first} of what?", USAGE["log"])
        return first, words[1], words[2:]
    # "<type> <n>" order, or a type with no count at all
    if len(words) >= 2 and (_NUMBER.match(words[1]) or _NUMBER_WITH_UNIT.match(words[1].lower())):
        return words[1], first, words[2:]
    return None, first, words[1:]


def _resolve_type(word: str) -> ActivityType:
    activity_type = lookup_type(word)
    if activity_type is not None:
        return activity_type
    guess = difflib.get_close_matches(word.lower(), all_type_words(), n=1, cutoff=0.6)
    if guess:
        suggestion = lookup_type(guess[0])
        assert suggestion is not None
        raise ParseError(
            f"I don't know the activity `{word}`. Did you mean *{suggestion.plural}*?",
            f"/pg 3 {suggestion.plural}",
        )
    types = ", ".join(t.plural for t in ACTIVITY_TYPES.values())
    raise ParseError(f"I don't know the activity `{word}`. Types: {types}.", USAGE["log"])


def _parse_quantity(count_word: str | None, activity_type: ActivityType) -> float:
    example = f"/pg 1.5 {activity_type.plural}" if activity_type.allows_halves else f"/pg 3 {activity_type.plural}"
    if count_word is None:
        raise ParseError(f"How many {activity_type.plural}? Put the number first.", example)
    try:
        value = Decimal(count_word.replace(",", "."))
    except InvalidOperation:
        raise ParseError(f"`{count_word}` isn't a number.", example) from None
    if activity_type.allows_halves:
        if value * 2 != int(value * 2) or not (MIN_HOURS <= value <= MAX_HOURS):
            raise ParseError(
                f"Hours go from {MIN_HOURS:g} to {MAX_HOURS:g} in halves; `{count_word}` isn't one of them.",
                example,
            )
        return float(value)
    if value != int(value):
        raise ParseError(f"{activity_type.title} are whole numbers; `{count_word}` isn't.", example)
    if not (MIN_COUNT <= value <= MAX_COUNT):
        raise ParseError(
            f"Counts go from {MIN_COUNT} to {MAX_COUNT}; `{count_word}` is out of range.",
            example,
        )
    return float(value)


def _parse_deal(rest: list[str]) -> LogCommand:
    amount_cents: int | None = None
    if rest and (_looks_like_amount(rest[0]) or _NUMBER.match(rest[0])):
        amount_cents = parse_amount(rest[0])
        rest = rest[1:]
    return LogCommand(type="deal", quantity=1.0, note=_note(rest), amount_cents=amount_cents)


def parse_amount(word: str) -> int:
    """`$50k` → 5_000_000 cents; `$1.2M`, `50000`, `$50,000` likewise."""
    match = _AMOUNT.match(word.strip())
    if not match:
        raise ParseError(f"`{word}` isn't an amount I can read.", USAGE["deal"])
    number = Decimal(match.group(1).replace(",", ""))
    multiplier = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get((match.group(2) or "").lower(), 1)
    try:
        return amount_cents(number * multiplier)
    except AmountOutOfRange as error:
        raise ParseError(f"`{word}`: {error}", USAGE["deal"]) from None


def _note(words: list[str]) -> str | None:
    note = " ".join(words).strip()
    if not note:
        return None
    if len(note) > MAX_NOTE_LENGTH:
        raise ParseError(f"Notes are limited to {MAX_NOTE_LENGTH} characters; yours has {len(note):,}.", USAGE["log"])
    return note
