"""The wallboard in headless Chromium, against the real WSGI app: logs sent as signed Slack
requests move the page's numbers within 3 s, without a reload; last call, the close and the
spin show; the layout holds still; a dead server dims the page and it recovers by itself; a
revoked link says so. Each phase is saved to docs/tv-*.png (1920×1080)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.directory import join_region
from bot.domain.tv_links import revoke_link
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_tv import THURSDAY_5_05PM, THURSDAY_5_31PM, THURSDAY_10AM, floor, new_link  # noqa: F401

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Screenshots go to the test's tmp folder; PIPEDAY_TV_SCREENSHOTS=1 writes docs/tv-*.png instead
# (to refresh the README's pictures without every test run rewriting tracked files).
SCREENSHOTS_TO_DOCS = bool(os.environ.get("PIPEDAY_TV_SCREENSHOTS"))
SHOWS_WITHIN_MS = 3000
FRIDAY_11AM = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
LONG_NAME = "Alexandria Montgomery-Fitzgerald of Wellington-upon-Thames"
MORE_REPS = (
    ("U_CARLOS", "Carlos Rivera"),
    ("U_EMILY", "Emily Chen"),
    ("U_TYLER", "Tyler Johnson"),
    ("U_PRIYA", "Priya Raman"),
    ("U_JORDAN", "Jordan Brooks"),
    ("U_SAM", "Sam Kowalski"),
    ("U_LONG", LONG_NAME),
    ("U_NOOR", "Noor Haddad"),
    ("U_LEO", "Leo Martins"),
)

ROWS_JS = """() => [...document.querySelectorAll('#rows .row')].map(row => ({
    rank: row.querySelector('.rank').textContent,
    name: row.querySelector('.text').textContent,
    total: row.querySelector('.total').textContent,
    mark: row.querySelector('.mark').dataset.mark,
}))"""
BOXES_JS = """() => [...document.querySelectorAll('#rows .row, #countdown, #clock, #headline')]
    .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"""


def rows(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate(ROWS_JS))


def shows_total(page: Any, name: str, total: int) -> None:
    """Waits (at most 3 s) for `name` to show `total` on the board."""
    page.wait_for_function(
        """([name, total]) => [...document.querySelectorAll('#rows .row')].some(row =>
            row.querySelector('.text').textContent.endsWith(name) &&
            row.querySelector('.total').textContent === total)""",
        arg=[name, str(total)],
        timeout=SHOWS_WITHIN_MS,
    )


def add_reps(bot: LiveBot) -> None:
    with bot.session_factory.begin() as session:
        for user_id, name in MORE_REPS:
            join_region(session, TEAM_ID, user_id, name, "AMER")
            bot.slack.users[user_id] = {"profile": {"display_name": name}}


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        path = (DOCS if SCREENSHOTS_TO_DOCS else tmp_path) / f"tv-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 10_000  # a real 1920x1080 picture, not a blank
        return path

    return take


def test_the_page_follows_a_connect_day_live(
    floor: LiveBot,  # noqa: F811
    tv_page: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    bot, page = floor, tv_page
    add_reps(bot)
    page_url = new_link(bot)
    page.goto(page_url)
    page.wait_for_function("() => document.body.classList.contains('phase-live')", timeout=SHOWS_WITHIN_MS)
    assert page.text_content("#headline") == "Connect Day"
    boxes = page.evaluate(BOXES_JS)

    bot.pg_reply("5 connects", user_id="U_ANA")
    shows_total(page, "Ana Lopez", 5)
    for user_id, count in (
        ("U_BEN", 7),
        ("U_DANA", 4),
        ("U_CARLOS", 6),
        ("U_EMILY", 9),
        ("U_TYLER", 9),
        ("U_PRIYA", 3),
        ("U_JORDAN", 11),
        ("U_SAM", 2),
        ("U_LONG", 8),
        ("U_NOOR", 1),
        ("U_LEO", 1),
    ):
        bot.pg_reply(f"{count} connects", user_id=user_id)
    shows_total(page, "Jordan Brooks", 11)
    bot.pg_reply("3 connects", user_id="U_ANA")
    shows_total(page, "Ana Lopez", 8)
    page.wait_for_function(
        "() => document.querySelector('#ticker li').textContent.startsWith('Ana Lopezlogged 3 connects')",
        timeout=SHOWS_WITHIN_MS,
    )

    shown = rows(page)
    assert [row["name"] for row in shown[:3]] == ["Jordan Brooks", "Emily Chen", "Tyler Johnson"]
    assert [row["rank"] for row in shown[:3]] == ["1", "2=", "2="]
    assert next(row for row in shown if row["name"] == "Dana Whitfield")["mark"] == "leader"
    assert {row["mark"] for row in shown if row["name"] != "Dana Whitfield"} == {""}
    assert page.text_content("#more") == "+ 2 more on the board"
    # Nothing moved: ten fixed rows, the countdown, the clock and the title keep their boxes.
    assert page.evaluate(BOXES_JS) == boxes
    readable = page.evaluate(
        """() => ['.rank', '.text', '.total'].map(s =>
            parseFloat(getComputedStyle(document.querySelector('#rows .row ' + s)).fontSize))"""
    )
    assert min(readable) >= 48, readable
    last = page.evaluate("() => document.querySelector('#rows .row:last-child').getBoundingClientRect().bottom")
    assert last <= 1080
    long_name = page.evaluate(
        """(name) => { const e = [...document.querySelectorAll('#rows .name')].find(n => n.textContent.endsWith(name));
            return [e.scrollWidth > e.clientWidth, getComputedStyle(e).textOverflow]; }""",
        LONG_NAME,
    )
    assert long_name == [True, "ellipsis"]
    assert page.text_content("#countdown-label") == "Ends in"
    screenshot(page, "live")

    bot.clock.set(THURSDAY_5_05PM)
    page.wait_for_function("() => document.body.classList.contains('last-call')", timeout=SHOWS_WITHIN_MS)
    assert page.text_content("#countdown-label") == "Last call"
    screenshot(page, "last-call")

    bot.clock.set(THURSDAY_5_31PM)
    page.wait_for_function("() => document.body.classList.contains('phase-ended')", timeout=SHOWS_WITHIN_MS)
    bot.pg_reply("close", user_id="U_MGR")
    page.wait_for_function("() => document.body.classList.contains('phase-results')", timeout=SHOWS_WITHIN_MS)
    assert page.text_content("#winners .who") == "Jordan Brooks"
    assert page.text_content("#winners .prize") == "The wheel is coming up…"
    assert rows(page)[0]["mark"] == "winner"
    screenshot(page, "results")
    bot.settle()

    bot.pg_reply("spin", user_id="U_MGR")
    page.wait_for_function("() => document.body.classList.contains('phase-spin')", timeout=SHOWS_WITHIN_MS)
    prize = page.evaluate("() => window.pipedayTv.state().spin.prize")
    assert prize in ("Cowboy boots", "Team lunch")
    assert page.text_content("#winners .prize") == "The wheel is coming up…"  # while the wheel turns
    page.wait_for_function("() => window.pipedayTv.prizeRevealed()", timeout=10_000)
    assert page.text_content("#winners .who") == "Jordan Brooks"
    assert page.text_content("#winners .prize") == prize
    screenshot(page, "spin")
    bot.settle()


def test_the_week_board_and_the_links_health(
    floor: LiveBot,  # noqa: F811
    tv_page: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    bot, page = floor, tv_page
    add_reps(bot)
    bot.clock.set(FRIDAY_11AM)
    for user_id, text in (
        ("U_ANA", "12 connects"),
        ("U_ANA", "40 emails"),
        ("U_BEN", "9 connects"),
        ("U_BEN", "14 calls"),
        ("U_CARLOS", "7 connects"),
        ("U_CARLOS", "3 meetings"),
        ("U_EMILY", "5 accounts"),
        ("U_EMILY", "6 connects"),
        ("U_TYLER", "2 referrals"),
        ("U_DANA", "3 connects"),
        ("U_DANA", "4.5h"),
        ("U_JORDAN", "25 emails"),
        ("U_JORDAN", "4 connects"),
    ):
        bot.pg_reply(text, user_id=user_id)
    page_url = new_link(bot)
    page.goto(page_url)
    page.wait_for_function("() => document.body.classList.contains('phase-week')", timeout=SHOWS_WITHIN_MS)
    assert page.text_content("#board-title") == "This week's connects"
    assert [row["name"] for row in rows(page)[:2]] == ["Ana Lopez", "Ben Okafor"]
    assert "Dana Whitfield" in (page.text_content("#leaders") or "") and "4.5 h" in (
        page.text_content("#leaders") or ""
    )
    assert "Emails" in (page.text_content("#goals") or "")
    screenshot(page, "week")

    # The server goes away (every poll fails): the last state stays up, dimmed, "Reconnecting…".
    page.route("**/state", lambda route: route.abort())
    page.wait_for_function("() => document.body.classList.contains('stale')", timeout=SHOWS_WITHIN_MS + 5000)
    assert page.text_content("#status") == "Reconnecting…"
    assert rows(page)[0]["name"] == "Ana Lopez"
    screenshot(page, "reconnecting")
    page.unroute("**/state")
    bot.pg_reply("5 connects", user_id="U_BEN")  # 14: Ben goes top once it's back
    page.wait_for_function("() => !document.body.classList.contains('stale')", timeout=SHOWS_WITHIN_MS + 2000)
    shows_total(page, "Ben Okafor", 14)

    with bot.session_factory.begin() as session:
        revoke_link(session, TEAM_ID, "amer-tv", FRIDAY_11AM + timedelta(minutes=1))
    page.wait_for_function("() => !document.getElementById('off').hidden", timeout=SHOWS_WITHIN_MS + 3000)
    assert "This TV link was turned off." in (page.text_content("#off") or "")
