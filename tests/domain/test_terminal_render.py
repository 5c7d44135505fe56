"""Block Kit → terminal text for `pipeday demo`."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.blocks.common import actions, button, context, divider, header, message, section
from bot.demo.styled_text import PLAIN, Segment, Style, mrkdwn_segments, visible_width, wrap_segments
from bot.demo.terminal import (
    FeedEntry,
    RenderOptions,
    file_line,
    format_size,
    render_blocks,
    render_feed_entry,
    render_message,
)

BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
ANSI = Style(enabled=True)


def test_header_is_bold_and_context_dimmed() -> None:
    lines = render_blocks(
        [header("Connect Day — AMER"), context("Thu 05 Jun · America/New_York")], RenderOptions(style=ANSI)
    )

    assert lines == [f"{BOLD}Connect Day — AMER{RESET}", f"{DIM}Thu 05 Jun · America/New_York{RESET}"]


def test_plain_style_has_no_escape_codes() -> None:
    lines = render_blocks([header("Results"), section("*Maya* wins"), context("fine print")])

    assert lines == ["Results", "Maya wins", "fine print"]
    assert not any("\x1b" in line for line in lines)


def test_section_is_wrapped_to_the_width_on_spaces() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"

    lines = render_blocks([section(text)], RenderOptions(width=20))

    assert lines == ["one two three four", "five six seven eight", "nine ten eleven", "twelve"]
    assert all(visible_width(line) <= 20 for line in lines)


def test_explicit_newlines_are_kept() -> None:
    lines = render_blocks([section("🥇 Maya — 12\n🥈 Leo — 9")])

    assert lines == ["🥇 Maya — 12", "🥈 Leo — 9"]


def test_bold_span_crossing_a_line_break_is_closed_on_each_line() -> None:
    lines = wrap_segments([Segment("alpha beta gamma delta", frozenset({"bold"}))], 20, ANSI)

    assert lines == [f"{BOLD}alpha beta gamma{RESET}", f"{BOLD}delta{RESET}"]


def test_wrapping_measures_visible_width_not_escape_codes() -> None:
    segments = mrkdwn_segments("*aaaa* *bbbb* *cccc* *dddd*")

    lines = wrap_segments(segments, 20, ANSI)

    assert len(lines) == 1  # 19 visible columns, though far more bytes


def test_emoji_count_as_two_columns() -> None:
    assert visible_width("🥇 Maya") == 7
    assert visible_width(f"{BOLD}Maya{RESET}") == 4


def test_overlong_word_is_cut() -> None:
    url = "https://example.com/" + "x" * 40

    lines = render_blocks([section(url)], RenderOptions(width=25))

    assert "".join(lines) == url
    assert [visible_width(line) for line in lines] == [25, 25, 10]


def test_mrkdwn_marks_links_mentions_and_entities() -> None:
    segments = mrkdwn_segments(
        "*Top* _rep_ ~old~ `code` <@U1> <#C9|pg-amer> <https://x.io|site> <!here> a &lt;b&gt; &amp; :trophy:",
        {"U1": "Maya Patel"},
    )

    assert [(s.text, sorted(s.marks)) for s in segments if s.marks] == [
        ("Top", ["bold"]),
        ("rep", ["italic"]),
        ("old", ["strike"]),
        ("code", ["code"]),
    ]
    assert "".join(s.text for s in segments) == "Top rep old code @Maya Patel #pg-amer site @here a <b> & 🏆"


def test_asterisks_inside_words_are_not_bold() -> None:
    segments = mrkdwn_segments("2*3*4 and *real*")

    assert [s.text for s in segments if "bold" in s.marks] == ["real"]
    assert "".join(s.text for s in segments) == "2*3*4 and real"


def test_unknown_user_mention_falls_back_to_its_id() -> None:
    assert "".join(s.text for s in mrkdwn_segments("<@U404> won")) == "@U404 won"


def test_buttons_render_as_bracketed_labels() -> None:
    block = actions(button("Spin the wheel", "spin", "day-1", style="primary"), button("Details", "d", "1"))

    assert render_blocks([block]) == ["[ Spin the wheel ]  [ Details ]"]


def test_button_rows_wrap_when_too_wide() -> None:
    block = actions(*(button(f"Button number {n}", f"b{n}", str(n)) for n in range(3)))

    lines = render_blocks([block], RenderOptions(width=40))

    assert lines == ["[ Button number 0 ]  [ Button number 1 ]", "[ Button number 2 ]"]


def test_section_accessory_fields_divider_and_image() -> None:
    blocks = [
        {
            **section("Pick one"),
            "accessory": {
                "type": "static_select",
                "action_id": "p",
                "placeholder": {"type": "plain_text", "text": "Prize"},
            },
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Connects*\n12"}]},
        divider(),
        {"type": "image", "image_url": "https://x/chart.png", "alt_text": "weekly chart"},
        {"type": "mystery"},
    ]

    assert render_blocks(blocks, RenderOptions(width=30)) == [
        "Pick one",
        "[ Prize ▾ ]",
        "Connects",
        "12",
        "─" * 30,
        "🖼 weekly chart",
        "[mystery block]",
    ]


def test_message_without_blocks_falls_back_to_text_and_blocks_may_be_json() -> None:
    posted = message("Results are in", [section("🥇 *Maya*")])

    assert render_message("Just *text*", None) == ["Just text"]
    assert render_message(posted["text"], json.dumps(posted["blocks"])) == ["🥇 Maya"]


def test_file_sizes_read_like_slack() -> None:
    assert [format_size(n) for n in (512, 123_456, 1_400_000)] == ["512 B", "123 kB", "1.4 MB"]
    assert file_line("wheel.gif", 123_456) == "📎 wheel.gif (123 kB)"
    assert file_line("wheel.gif", 999, title="Maya's spin") == "📎 Maya's spin — wheel.gif (999 B)"


def test_feed_entry_has_channel_heading_and_gutter() -> None:
    at = datetime(2025, 6, 5, 17, 30, tzinfo=ZoneInfo("America/New_York"))
    post = FeedEntry("#pg-amer", at, "post", text="Results", blocks=[header("Connect Day results")])
    upload = FeedEntry(
        "#pg-amer", at, "file", text="Spinning…", filename="wheel.gif", size_bytes=123_000, in_thread=True
    )
    export = FeedEntry("DM Marcus Reed", at, "file", filename="week.csv", size_bytes=1_400)

    assert render_feed_entry(post, RenderOptions(style=PLAIN)) == ["#pg-amer  Thu 17:30 EDT", "│ Connect Day results"]
    assert render_feed_entry(upload) == [
        "#pg-amer  Thu 17:30 EDT  ↳ in thread",
        "│ Spinning…",
        "│ 📎 wheel.gif (123 kB)",
    ]
    assert render_feed_entry(export) == ["DM Marcus Reed  Thu 17:30 EDT", "│ 📎 week.csv (1 kB)"]


def test_feed_entry_body_fits_inside_the_width_with_the_gutter() -> None:
    at = datetime(2025, 6, 5, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    entry = FeedEntry("#pg-emea", at, "edit", blocks=[section("word " * 30)])

    lines = render_feed_entry(entry, RenderOptions(width=40))

    assert lines[0] == "#pg-emea  Thu 09:00 BST  ✎ edited"
    assert all(visible_width(line) <= 40 for line in lines)
    assert all(line.startswith("│ ") for line in lines[1:])
