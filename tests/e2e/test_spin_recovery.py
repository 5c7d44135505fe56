"""Every announcement eventually happens, over real HTTP with signed requests: a Slack 500 on
the wheel upload is retried and the spin announced once; a spin Slack never took is finished
by pressing Spin again or by `/pg spin` (never a second draw); results that keep failing
after `/pg close` are left for the clock, shown by `pipeday jobs list`, and posted once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from bot.cli.main import cli
from bot.features import competitions
from bot.posting import retrying
from bot.posting.retrying import RetryPolicy
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.jobs import CLAIM_LEASE, JobRuntime
from models import CompetitionDay, Prize, SentLog, Spin
from tests.e2e.conftest import LiveBot
from tests.e2e.test_competition_day import (  # noqa: F401 - connect_day is a fixture
    answers,
    blocks_of,
    buttons,
    close_day,
    connect_day,
    play_the_day,
    spin_count,
    text_of,
)
from tests.support.slack_stub import Call
from tests.support.waiting import wait_until

WON = "🎉 <@U_BEN> won Cowboy boots!"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff the app asked for, recorded instead of slept."""
    asked: list[float] = []
    monkeypatch.setattr(retrying, "DEFAULT_RETRY", RetryPolicy(sleep=asked.append))
    return asked


def announced(bot: LiveBot) -> Callable[[], bool]:
    def check() -> bool:
        with bot.session_factory.begin() as session:
            spin = session.scalars(select(Spin)).first()  # none yet: the click is acked before the draw
            return spin is not None and spin.announced_at is not None

    return check


def accepted(bot: LiveBot, channel: str) -> list[Call]:
    """Posts Slack took (the stub records refused calls too)."""
    return [Call("chat.postMessage", m.args, {}, m.time) for m in bot.slack.posted_messages(channel)]


def announcements(bot: LiveBot) -> list[Call]:
    return [c for c in accepted(bot, "C_AMER") if c.args.get("text") == WON]


def press_spin(bot: LiveBot, results: Call) -> None:
    (spin_button,) = buttons(results, "spin_wheel")
    click = bot.requests.block_action("spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER")
    assert click.send(bot.base_url).status_code == 200


def assert_announced_once(bot: LiveBot) -> None:
    wait_until(announced(bot))
    (announcement,) = announcements(bot)
    assert buttons(announcement, "mark_delivered"), "the Mark delivered button"
    (dm,) = accepted(bot, "DU_BEN")
    assert "You won Cowboy boots" in dm.args["text"]
    final = bot.slack.calls("chat.update")[-1]
    assert "Cowboy boots" in text_of(blocks_of(final)) and buttons(final, "spin_wheel") == []
    assert len(bot.slack.shared_files()) == 1
    assert spin_count(bot) == 1  # never a second draw
    with bot.session_factory.begin() as session:
        assert session.scalar(select(Prize.stock)) == 1  # and stock taken once


def test_a_slack_500_on_the_wheel_upload_is_retried_and_the_spin_announced_once(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    play_the_day(bot)
    results = close_day(bot)
    bot.slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=1)

    press_spin(bot, results)

    bot.slack.wait_for("files.completeUploadExternal", count=2, timeout=10)
    assert_announced_once(bot)
    assert waits == [2.0]  # one failure, one wait, after the ack
    assert bot.slack.responses() == []  # nothing to apologise for


def wheel_notes(bot: LiveBot) -> list[Call]:
    return [c for c in accepted(bot, "C_AMER") if "The wheel animation for <@U_BEN>" in str(c.args.get("text"))]


def assert_announced_without_the_wheel(bot: LiveBot, results: Call) -> Call:
    """The prize announced and DMed once, no GIF, and a note in the results thread saying why."""
    wait_until(announced(bot))
    (announcement,) = announcements(bot)
    assert buttons(announcement, "mark_delivered")
    (dm,) = accepted(bot, "DU_BEN")
    assert "You won Cowboy boots" in dm.args["text"]
    assert bot.slack.shared_files() == []
    (note,) = wheel_notes(bot)
    assert note.args["thread_ts"] == bot.slack.posted_messages("C_AMER")[1].ts == results_ts(bot)
    with bot.session_factory.begin() as session:
        spin = session.scalars(select(Spin)).one()
        assert spin.wheel_posted_at is not None and spin.announce_error is None  # the step is settled
    assert spin_count(bot) == 1
    return note


def results_ts(bot: LiveBot) -> str | None:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.results_ts)).one()


def test_a_public_channel_the_bot_isnt_in_is_joined_for_the_wheel(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    bot.slack.add_channel("C_AMER", "amer-sales")  # posts work (chat:write.public); uploads don't
    play_the_day(bot)
    results = close_day(bot)

    press_spin(bot, results)

    assert_announced_once(bot)
    assert [c.args["channel"] for c in bot.slack.calls("conversations.join")] == ["C_AMER"]
    (gif,) = bot.slack.shared_files()
    assert gif.channel_id == "C_AMER" and gif.filename == "wheel.gif"
    assert waits == [] and wheel_notes(bot) == []


def test_a_wheel_slack_refuses_still_announces_the_prize_and_dms_the_winner(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    bot.slack.add_channel("C_AMER", "amer-sales")
    bot.slack.scopes.remove("channels:join")  # installed before the scope was added: no joining
    play_the_day(bot)
    results = close_day(bot)

    press_spin(bot, results)

    note = assert_announced_without_the_wheel(bot, results)
    assert "couldn't be attached" in note.args["text"] and "channels:join" in note.args["text"]
    assert "/invite @Pipeday" in note.args["text"]
    assert waits == []  # a refusal no retry changes is not retried
    assert bot.slack.responses() == []  # and the manager gets no apology: the spin went out


def test_a_wheel_upload_that_keeps_failing_never_holds_back_the_announcement(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    play_the_day(bot)
    results = close_day(bot)
    bot.slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=None)

    press_spin(bot, results)

    note = assert_announced_without_the_wheel(bot, results)
    assert "Slack answered 'internal_error'" in note.args["text"]
    assert waits == [2.0, 10.0, 30.0]  # tried as long as any announcement is, then left out


def spin_that_slack_never_took(bot: LiveBot) -> Call:
    """Close, press Spin while every announcement post fails; the prize is awarded anyway."""
    play_the_day(bot)
    results = close_day(bot)
    bot.slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=4)
    (spin_button,) = buttons(results, "spin_wheel")
    click = bot.requests.block_action("spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER")
    click.send(bot.base_url)
    (told,) = answers(bot, click)
    assert "The spin is saved, but Slack didn't take its announcement" in told.args["text"]
    with bot.session_factory.begin() as session:
        spin = session.scalars(select(Spin)).one()
        assert spin.announced_at is None and spin.announcement_ts is None
        assert spin.wheel_posted_at is not None and "internal_error" in (spin.announce_error or "")
    assert announcements(bot) == [] and len(bot.slack.shared_files()) == 1
    return results


def test_pressing_spin_again_announces_the_spin_slack_never_took(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    results = spin_that_slack_never_took(bot)
    assert waits == [2.0, 10.0, 30.0]

    press_spin(bot, results)  # the same button, on the same results message

    assert_announced_once(bot)  # the GIF that went out is not uploaded again


def test_slash_spin_finishes_an_announced_but_unposted_spin(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
) -> None:
    bot = connect_day
    spin_that_slack_never_took(bot)

    reply = bot.pg_reply("spin", user_id="U_MGR")

    assert "Spinning the wheel for <@U_BEN>" in text_of(reply)
    assert_announced_once(bot)
    assert "Every winner" in text_of(bot.pg_reply("spin", user_id="U_MGR"))  # and then it is done


def jobs_list(engine: Engine) -> str:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["jobs", "list"], env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": ""})
    assert result.exit_code == 0, result.output
    return result.output


def test_results_that_keep_failing_after_the_close_are_listed_and_posted_by_the_clock(
    connect_day: LiveBot,  # noqa: F811
    waits: list[float],
    engine: Engine,
) -> None:
    bot = connect_day
    play_the_day(bot)
    bot.slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=4)
    request = bot.requests.slash_command("close", user_id="U_MGR")
    assert "Closed Connect Day in AMER" in request.send(bot.base_url).json()["text"]
    (apology,) = answers(bot, request)
    assert str(apology.args["text"]).startswith("Sorry — that went through")
    assert waits == [2.0, 10.0, 30.0]

    listed = jobs_list(engine)
    assert "Posts that did not go out (1):" in listed
    assert "! failed: results (competition:" in listed and "Slack answered 'internal_error'" in listed
    assert "the clock retries it on its next tick" in listed

    runtime = JobRuntime(bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock)
    bot.clock.advance(timedelta(minutes=1))
    Clock(make_scheduler(blocking=False), runtime, clock=bot.clock).reconcile()

    results = [c for c in accepted(bot, "C_AMER") if str(c.args.get("text")).startswith("🏆 Connect Day results")]
    assert len(results) == 1
    with bot.session_factory.begin() as session:
        assert session.scalars(select(CompetitionDay.results_ts)).one() is not None
        row = session.scalars(select(SentLog).where(SentLog.kind == "results")).one()
        assert row.status == "sent"
    assert "Posts that did not go out" not in jobs_list(engine)


def test_results_a_worker_died_posting_after_the_close_are_posted_by_the_clock_after_the_lease(
    connect_day: LiveBot,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = connect_day
    play_the_day(bot)
    # The web worker is killed (SIGTERM, kill -9) once the close is answered, before it posts.
    monkeypatch.setattr(competitions, "_publish_all_results", lambda *args, **kwargs: None)
    assert "Closed Connect Day in AMER" in text_of(bot.pg_reply("close", user_id="U_MGR"))
    bot.settle()
    runtime = JobRuntime(bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock)
    clock = Clock(make_scheduler(blocking=False), runtime, clock=bot.clock)

    def posted_results() -> list[Call]:
        return [c for c in accepted(bot, "C_AMER") if str(c.args.get("text")).startswith("🏆 Connect Day results")]

    bot.clock.advance(timedelta(minutes=1))
    clock.reconcile()  # the close's claim is still a live lease: its worker may yet be posting
    assert posted_results() == []

    bot.clock.advance(CLAIM_LEASE)
    clock.reconcile()
    assert len(posted_results()) == 1
    bot.clock.advance(timedelta(hours=8))  # past the day's scheduled results too
    clock.reconcile()
    assert len(posted_results()) == 1
    with bot.session_factory.begin() as session:
        assert session.scalars(select(CompetitionDay.results_ts)).one() is not None
        row = session.scalars(select(SentLog).where(SentLog.kind == "results")).one()
        assert (row.status, row.claimed_by) == ("sent", "clock-test")
