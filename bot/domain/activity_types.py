"""The built-in activity types, their aliases and their place in the funnel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActivityType:
    key: str
    singular: str
    plural: str
    emoji: str
    aliases: tuple[str, ...]
    meaning: str
    # Hours accept halves (1.5h); everything else is a whole count.
    allows_halves: bool = False

    def label(self, quantity: float) -> str:
        return self.singular if quantity == 1 else self.plural

    @property
    def title(self) -> str:
        """The plural as a heading or list label: "Connects", "QBMs", "POVs" (never "Qbms")."""
        return self.plural[:1].upper() + self.plural[1:]


ACTIVITY_TYPES: dict[str, ActivityType] = {
    t.key: t
    for t in (
        ActivityType(
            "account",
            "account",
            "accounts",
            "🎯",
            ("accounts", "acct", "accts"),
            "target account researched / added to a sequence",
        ),
        ActivityType("email", "email", "emails", "✉️", ("emails",), "outbound email, new or follow-up"),
        ActivityType("call", "call", "calls", "📞", ("calls", "dial", "dials"), "outbound call attempt"),
        ActivityType(
            "referral", "referral", "referrals", "🤝", ("referrals", "intro", "intros"), "referral or intro call"
        ),
        ActivityType(
            "connect",
            "connect",
            "connects",
            "🔌",
            ("connects", "conversation", "conversations", "convo", "convos"),
            "live conversation with a prospect",
        ),
        ActivityType(
            "meeting",
            "meeting",
            "meetings",
            "📅",
            ("meetings", "mtg", "mtgs", "booked", "booking", "bookings"),
            "discovery meeting booked",
        ),
        ActivityType("qbm", "QBM", "QBMs", "💡", ("qbms",), "qualified business meeting (pain + champion)"),
        ActivityType(
            "opp", "opp", "opps", "🌱", ("opps", "opportunity", "opportunities"), "winnable opportunity created"
        ),
        ActivityType("pov", "POV", "POVs", "🧪", ("povs",), "proof of value committed"),
        ActivityType("deal", "deal", "deals", "🏆", ("deals", "win", "wins"), "closed-won deal"),
        ActivityType(
            "hour", "hour", "hours", "⏱️", ("hours", "h", "hr", "hrs"), "prospecting hours", allows_halves=True
        ),
    )
}

_BY_WORD: dict[str, str] = {word: t.key for t in ACTIVITY_TYPES.values() for word in (t.key, *t.aliases)}

# Funnel order for conversion rates; calls and emails together are "outreach".
FUNNEL_STAGES: tuple[str, ...] = ("outreach", "connect", "meeting", "qbm", "opp", "pov", "deal")
OUTREACH_TYPES: frozenset[str] = frozenset({"call", "email"})

MIN_COUNT, MAX_COUNT = 1, 500
MIN_HOURS, MAX_HOURS = 0.5, 24.0


def lookup_type(word: str) -> ActivityType | None:
    key = _BY_WORD.get(word.strip().lower())
    return ACTIVITY_TYPES[key] if key else None


def all_type_words() -> list[str]:
    return list(_BY_WORD)
