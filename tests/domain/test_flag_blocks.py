"""A flag's figure next to the member's day as it counts now, in the review before the spin and
App Home's "Needs a look": pure Block Kit, validated with slack_sdk.models like Slack would.

The flag keeps the figure it was raised on (the evidence); when the day has moved on since
(more logs, or some undone) the manager reads both, so the summary and the Void line agree.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from slack_sdk.models.views import View

from bot.blocks.flags import needs_a_look_blocks, resolve_modal, review_modal
from bot.domain.flags import Covered, FlagView
from tests.support.slack_stub import validate_view

PRIYA_AT_CLOSE = Covered(
    logs=6,
    quantities={"connect": 18.0},
    first_at=datetime(2025, 6, 5, 0, 33, tzinfo=UTC),
    last_at=datetime(2025, 6, 5, 9, 18, tzinfo=UTC),
)
BIG_DAY = FlagView(
    id=3,
    rule="day-total",
    state="open",
    summary="14 connects in the day; APAC's 99th-percentile day is 12.7 (8 weeks, 127 member-days)",
    note=None,
    member_id=7,
    user_id="U_PRIYA",
    name="Priya Nair",
    region="APAC",
    tz="Asia/Singapore",
    local_date=date(2025, 6, 5),
    activity_type="connect",
    raised_by="rules",
    created_at=datetime(2025, 6, 5, 6, 0, tzinfo=UTC),
    covered=PRIYA_AT_CLOSE,
    figures={"total": 14.0, "percentile": 99.0, "percentile_day": 12.7, "days": 127, "weeks": 8},
    day_total_now=18.0,
)
BIG_LOG = replace(
    BIG_DAY,
    id=4,
    rule="big-log",
    summary="12 connects in one log; 3× this member's 95th-percentile day is 9 (8 weeks, 40 days)",
    covered=Covered(1, {"connect": 12.0}, PRIYA_AT_CLOSE.first_at, PRIYA_AT_CLOSE.first_at),
    figures={"quantity": 12.0, "multiple": 3.0, "percentile": 95.0, "threshold": 9.0},
)


def texts(blocks: list[dict[str, Any]]) -> str:
    found: list[str] = []
    for block in blocks:
        for part in [block.get("text"), *block.get("elements", [])]:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                found.append(part["text"])
    return "\n".join(found)


def review(*flags: FlagView) -> dict[str, Any]:
    modal = review_modal(9, "Connect Day · APAC · Thu 05 Jun", list(flags))
    assert validate_view(modal) == []
    View(**modal).validate_json()  # slack_sdk's own model of a modal
    return modal


def test_a_big_day_shows_the_flagged_total_and_the_days_total_now_beside_it() -> None:
    text = texts(review(BIG_DAY)["blocks"])

    assert (
        "14 connects in the day when flagged (18 now); APAC's 99th-percentile day is 12.7 (8 weeks, 127 member-days)"
    ) in text
    assert "A void takes away 6 logs: 18 connects, 08:33–17:18" in text  # the same 18

    # A day that still totals what was flagged reads as it was raised.
    unchanged = texts(review(replace(BIG_DAY, day_total_now=14.0))["blocks"])
    assert "14 connects in the day; APAC's" in unchanged and "when flagged" not in unchanged


def test_a_big_log_shows_the_days_total_now_beside_the_log() -> None:
    text = texts(review(BIG_LOG)["blocks"])

    assert "12 connects in one log (of 18 in the day now); 3× this member's 95th-percentile day is 9" in text

    # The log was the whole day: nothing to add.
    only_log = texts(review(replace(BIG_LOG, day_total_now=12.0))["blocks"])
    assert "12 connects in one log; 3×" in only_log and "in the day now" not in only_log


def test_fewer_now_than_when_flagged_says_so_too() -> None:
    text = texts(review(replace(BIG_DAY, day_total_now=10.0))["blocks"])

    assert "14 connects in the day when flagged (10 now); APAC's" in text


def test_app_homes_needs_a_look_and_the_keep_void_modal_show_both_figures() -> None:
    home = needs_a_look_blocks([BIG_DAY, BIG_LOG], 2, "APAC")
    home_view = {"type": "home", "blocks": home}
    assert validate_view(home_view) == []
    View(**home_view).validate_json()
    assert "14 connects in the day when flagged (18 now)" in texts(home)
    assert "12 connects in one log (of 18 in the day now)" in texts(home)

    modal = resolve_modal(BIG_DAY, keep=False)
    assert validate_view(modal) == []
    assert "14 connects in the day when flagged (18 now)" in texts(modal["blocks"])
