"""Free text that people and Slack hand us: notes, names, and the values buttons send back.

One set of rules for every way text comes in (the `/pg` grammar, the quick-log modal, the
CLI, Slack's own display names), so SQLite and PostgreSQL store the same thing:

* Whitespace of any kind (tab, newline, carriage return, the Unicode separators) folds
  to one space: a note is one line wherever it is shown.
* Any other control character (NUL, escape, backspace, C1 controls) is refused with a
  message naming it. PostgreSQL can't store NUL at all and SQLite would keep it silently;
  neither is what the person meant.
* Lone surrogates (only reachable through a forged JSON `\\ud800`) are refused too: they
  can't be encoded as UTF-8, so no database could store them.

Names that come from Slack are cleaned rather than refused, since the person can't fix
them from the command they typed: the control characters are dropped.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.errors import DomainError

# The refused characters: category Cc (the C0 and C1 controls plus DEL) less the whitespace
# among them (tab to CR, the separators U+001C to U+001F, NEL U+0085), and Cs (the surrogates).
# One class searched in C, not unicodedata.category for every character of every external id
# of a 1,000-item batch; Unicode's stability policy fixes both sets, and
# tests/domain/test_text_input.py checks every code point against the categories.
_REFUSED = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
# Slack user ids: `U…` in a workspace, `W…` in an Enterprise Grid org; upper-case letters and digits.
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
MAX_PAGE = 100_000
MAX_RECORD_ID = 2**31 - 1  # an INTEGER primary key on PostgreSQL


class UnsafeText(DomainError):
    """Text with a character no field can store; nothing was saved."""


def unsafe_character(text: str) -> str | None:
    """The first character that is neither whitespace nor printable text, or None: a C0 or
    C1 control (category Cc) that isn't whitespace, or a lone surrogate (Cs)."""
    found = _REFUSED.search(text)
    return None if found is None else found.group()


def describe_character(character: str) -> str:
    """`U+0000 (NUL)`: how a refusal names a character it can't show."""
    code = ord(character)
    name = unicodedata.name(character, "") or _CONTROL_NAMES.get(code, "a control character")
    return f"U+{code:04X} ({name})"


def require_plain_text(text: str, what: str) -> str:
    """`text` with every run of whitespace folded to one space and the ends trimmed;
    UnsafeText (naming `what`, e.g. "Notes") for any other control character."""
    found = unsafe_character(text)
    if found is not None:
        raise UnsafeText(
            f"{what} can't contain control characters, and this has {describe_character(found)}.",
            "Type it again as plain text (tabs and line breaks are fine: they become spaces).",
        )
    return " ".join(text.split())


def clean_name(name: str | None, fallback: str, max_length: int) -> str:
    """A display name from Slack, made storable: control characters dropped, whitespace
    folded, at most `max_length` characters; `fallback` (the user id) when nothing is left."""
    kept = _REFUSED.sub("", name or "")
    folded = " ".join(kept.split())[:max_length].strip()
    return folded or fallback


def whole_number(value: object, maximum: int) -> int | None:
    """A whole number from 0 to `maximum` written in plain ASCII digits, or None.

    `str.isdigit()` is no test: it accepts `²` and `٣`, which `int()` then refuses or reads,
    and 5,000 nines, which `int()` refuses too. Buttons, modals and typed counts use this.
    """
    if not isinstance(value, str) or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


def parse_page_number(value: object) -> int | None:
    """A page number a button sent back, or None when it isn't one."""
    return whole_number(value, MAX_PAGE)


def parse_record_id(value: object) -> int | None:
    """A database id a button sent back (a spin, a day), or None when it can't be one."""
    number = whole_number(value, MAX_RECORD_ID)
    return number if number else None


def is_slack_user_id(value: str) -> bool:
    """True for a Slack user id (`U0123ABCD`, `W0123ABCD`), False for a name like `alice` or `@alice`."""
    return _SLACK_USER_ID.fullmatch(value) is not None


# unicodedata has no names for control characters; these are the ones people meet.
_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "backspace",
    0x1B: "escape",
    0x7F: "DEL",
}
