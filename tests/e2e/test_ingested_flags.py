"""Ingested activity and the flag rules over real HTTP: checked on arrival, after the answer (the
batch API) or after the acknowledgement (a vendor webhook), once per member-day however many
items a batch holds; a competition's cap refuses ingested items as it refuses typed logs; and a
flag raised on an ingested winner's activity holds the spin until a manager reviews it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.api import ingestion_blueprint
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import join_region
from bot.domain.flags import covered_activities
from bot.domain.prizes import add_prize
from bot.domain.trust_settings import set_trust_setting
from bot.domain.voiding import resolve_flag
from bot.ingest.flag_checks import IngestedFlagger
from models import Activity, Competition, Flag, Member, Region, Spin
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_aircall_webhooks import deliver as deliver_aircall
from tests.e2e.test_aircall_webhooks import documented, known_rep
from tests.e2e.test_aircall_webhooks import new_source as new_aircall_source
from tests.e2e.test_ingestion_api import new_key, post
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.clock import FakeClock
from tests.support.statements import SentStatement, sent_statements
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

TUESDAY_5AM_NY = "2026-11-24T05:00:00-05:00"  # before the region's usual hours (06:00–22:00)
TUESDAY_9AM_NY = "2026-11-24T09:00:00-05:00"
THURSDAY_11AM = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # Connect Day in New York (08:00–17:30)


def item(external_id: str, when: str = TUESDAY_9AM_NY, user_id: str = "U_ANA", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "connect", "occurred_at": when, "slack_user_id": user_id, **fields}


def flags(bot: LiveBot) -> list[Flag]:
    with bot.session_factory() as session:
        return list(session.scalars(select(Flag).order_by(Flag.id)))


class GatedFlagger(IngestedFlagger):
    """Checks only once the test opens the gate: what the sender got came before any check."""

    def __init__(self, session_factory: sessionmaker[Session], clock: FakeClock) -> None:
        super().__init__(session_factory, clock)
        self.gate = threading.Event()
        self.started = threading.Event()

    def _check(self, batch: Any) -> None:
        self.started.set()
        assert self.gate.wait(10), "the test never opened the gate"
        super()._check(batch)


def test_an_api_item_that_trips_a_rule_is_flagged_after_the_answer_with_the_rule_and_figures(
    team: LiveBot,
) -> None:
    bot = team
    flagger = GatedFlagger(bot.session_factory, bot.clock)
    web = Flask("ingestion-only")
    web.register_blueprint(ingestion_blueprint(bot.session_factory, bot.clock, lambda email: None, flagger=flagger))
    key = new_key(bot)
    with serve_wsgi(web) as base_url:
        bot.base_url, original = base_url, bot.base_url
        try:
            answer = post(bot, {"activities": [item("night", TUESDAY_5AM_NY), item("day")]}, key)
        finally:
            bot.base_url = original
        # Answered while the check is held: the rules never stand between a sender and its answer.
        assert [r["status"] for r in answer.json()["results"]] == ["created", "created"]
        assert flagger.started.wait(5), "the batch was never checked"
        assert flags(bot) == []
        flagger.gate.set()
        flagger.wait_idle()
    (flag,) = flags(bot)
    with bot.session_factory() as session:
        source = session.scalars(select(Activity.source).distinct()).one()  # the key's
    assert (flag.rule, flag.activity_type, flag.state, flag.activity_id) == ("hours", "connect", "open", None)
    # The part of ana's day before the usual hours, and what other tools recorded in it.
    assert (flag.span_start, flag.span_end) == (
        datetime(2026, 11, 24, 5, tzinfo=UTC),
        datetime(2026, 11, 24, 11, tzinfo=UTC),
    )
    assert flag.figures == {
        "side": "before", "first_local_time": "05:00", "last_local_time": "05:00", "logs": 1, "quantity": 1.0,
        "sources": [source], "start": "06:00", "end": "22:00", "tz": "America/New_York", "verified_only": True,
    }  # fmt: skip
    assert flag.summary == f"1 connect recorded by {source} at 05:00 America/New_York, outside 06:00–22:00"
    with bot.session_factory() as session:
        (covered,) = covered_activities(session, session.get(Flag, flag.id))
        assert covered.occurred_at == datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.fixture
def check_statements() -> Iterator[list[SentStatement]]:
    # Every engine's: on SQLite the check reads on an engine of its own (outside the write gate).
    with sent_statements(
        Engine, lambda _statement: threading.current_thread().name == "pipeday-ingested-flags"
    ) as seen:
        yield seen


def ordinary_history(bot: LiveBot) -> None:
    """Two weeks of ordinary days, stored as they were: ana and ben log 4 connects a day (the
    region's 99th-percentile day is 4; 3× a member's 95th-percentile day is 12)."""
    with bot.session_factory.begin() as session:
        members = {m.user_id: m for m in session.scalars(select(Member))}
        for day in range(1, 15):
            for user in ("U_ANA", "U_BEN"):
                member = members[user]
                session.add(
                    Activity(
                        team_id=TEAM_ID, member_id=member.id, region_id=member.region_id, type="connect",
                        quantity=4.0, occurred_at=datetime(2026, 11, 24, 14, 0, tzinfo=UTC) - timedelta(days=day),
                        logged_by="U_X", source="slash", idempotency_key=f"h-{user}-{day}",
                    )
                )  # fmt: skip


def test_a_batch_reaching_back_over_days_reads_each_days_baselines_once(
    team: LiveBot, check_statements: list[SentStatement]
) -> None:
    """Connects of ana's from three days (a CRM sync catching up), one of them big: each is
    measured against the weeks before its own day (not today's, whose history holds the big
    item itself: 40 connects on Saturday would raise her p95 to 18 and hide), and each day's
    baselines (hers and the region's) are read once."""
    bot = team
    ordinary_history(bot)
    key = new_key(bot)
    check_statements.clear()
    days = ("2026-11-21T10:00:00-05:00", "2026-11-23T10:00:00-05:00", "2026-11-24T09:00:00-05:00")
    batch = [item(f"d-{n}", when, "U_ANA", quantity=40 if n == 0 else 5) for n, when in enumerate(days)]
    assert {r["status"] for r in post(bot, {"activities": batch}, key).json()["results"]} == {"created"}
    wait_until(lambda: "big-log" in {f.rule for f in flags(bot)}, what=lambda: f"Saturday's big log ({flags(bot)})")
    (big,) = [f for f in flags(bot) if f.rule == "big-log"]
    # Her 11 days before Saturday: 4 connects each (3 × 4 = 12).
    assert (big.local_date.isoformat(), big.figures["quantity"], big.figures["threshold"]) == ("2026-11-21", 40, 12)
    day_totals = "SELECT activities.member_id, activities.type, sum(activities.quantity)"
    wait_until(lambda: sum(s.startswith(day_totals) for s in check_statements) == 3, what="a day-totals read a day")
    baselines = [s for s in check_statements if "sum(anon_1.quantity)" in s]
    assert len(baselines) == 6, baselines  # ana's and the region's, once per day


def test_a_big_batch_is_checked_once_per_member_day_not_once_per_item(
    team: LiveBot, check_statements: list[SentStatement]
) -> None:
    """600 connects for two reps on one day, each big enough to need the baselines: a handful of
    reads (the settings, each rep's and the region's baseline, one read of day totals) and one
    write of the flags, not hundreds."""
    bot = team
    ordinary_history(bot)
    key = new_key(bot)
    check_statements.clear()
    batch = [
        item(f"b-{n}", f"2026-11-24T09:{n % 60:02d}:{n // 60:02d}-05:00", ("U_ANA", "U_BEN")[n % 2], quantity=5)
        for n in range(599)
    ] + [item("huge", "2026-11-24T09:30:30-05:00", "U_ANA", quantity=13)]
    results = post(bot, {"activities": batch}, key).json()["results"]
    assert {r["status"] for r in results} == {"created"}
    wait_until(lambda: {f.rule for f in flags(bot)} == {"day-total", "big-log"}, what="the batch's flags")
    by_rule = sorted((f.rule, f.figures.get("total")) for f in flags(bot))
    assert [rule for rule, _ in by_rule] == ["big-log", "day-total", "day-total"]
    # Each rep's whole day, this batch included (ben 299 × 5; ana 300 × 5 and the big one).
    assert sorted(total for rule, total in by_rule if rule == "day-total") == [299 * 5, 300 * 5 + 13]
    (big,) = [f for f in flags(bot) if f.rule == "big-log"]
    assert (big.figures["quantity"], big.figures["threshold"]) == (13, 12)
    # The settings, ana's and ben's baselines, the region's, the day totals; one INSERT of flags.
    selects = [s for s in check_statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 5, selects
    assert len(check_statements) == 6, check_statements


def test_a_webhook_deliverys_activity_is_flagged_after_the_acknowledgement(team: LiveBot) -> None:
    bot = team
    known_rep(bot)
    with bot.session_factory.begin() as session:
        join_region(session, TEAM_ID, "U_MADE", "madelaine", "AMER")
    source = new_aircall_source(bot)
    at_4am = int(datetime(2026, 11, 24, 9, 0, tzinfo=UTC).timestamp())  # 04:00 in New York
    body = documented(id=777, started_at=at_4am, answered_at=at_4am + 5, ended_at=at_4am + 95)
    assert deliver_aircall(bot, source.id, body).json() == {"status": "received"}
    wait_for_runs(bot.session_factory)
    wait_until(lambda: len(flags(bot)) == 2, what=lambda: f"the call's and the connect's flags ({flags(bot)})")
    assert sorted((f.rule, f.activity_type, f.figures["first_local_time"]) for f in flags(bot)) == [
        ("hours", "call", "04:00"),
        ("hours", "connect", "04:00"),
    ]


@pytest.fixture
def connect_day(team: LiveBot) -> LiveBot:
    with team.session_factory.begin() as session:
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        add_prize(session, TEAM_ID, "Cowboy boots", weight=1, stock=None, actor="test")
    team.clock.set(THURSDAY_11AM)
    return team


@pytest.mark.parametrize("counts", ["all", "verified"])
def test_an_item_over_the_cap_is_rejected_and_the_rest_of_its_batch_is_stored(
    connect_day: LiveBot, counts: str
) -> None:
    bot = connect_day
    with bot.session_factory.begin() as session:
        competition = session.scalars(select(Competition)).one()
        amer = session.scalars(select(Region.id).where(Region.name == "AMER")).one()
        competition.max_per_log, competition.counts, competition.region_ids = 20, counts, [amer]
    batch = [
        item("over", "2026-11-26T10:15:00-05:00", quantity=25),
        item("at-cap", "2026-11-26T10:16:00-05:00", quantity=20),
        item("before", "2026-11-26T07:30:00-05:00", quantity=25),  # before the window
        item("calls", "2026-11-26T10:17:00-05:00", quantity=25, type="call"),  # not the metric
        item("emea", "2026-11-26T10:18:00-05:00", "U_EVE", quantity=25),  # not its region
    ]
    results = post(bot, {"activities": batch}, new_key(bot)).json()["results"]
    assert [(r["external_id"], r["status"]) for r in results] == [
        ("over", "rejected"), ("at-cap", "created"), ("before", "created"), ("calls", "created"),
        ("emea", "created"),
    ]  # fmt: skip
    assert results[0]["error"] == (
        "during Connect Day (until 17:30) one log can hold at most 20 connects; 25 is over that, so it wasn't "
        "stored: send them as they happen, up to 20 at a time"
    )
    with bot.session_factory() as session:
        keys = set(session.scalars(select(Activity.idempotency_key)))
    assert {key.rpartition(":")[2] for key in keys} == {"at-cap", "before", "calls", "emea"}


def test_a_flag_on_an_ingested_winner_holds_the_spin_until_a_manager_reviews_it(connect_day: LiveBot) -> None:
    """Usual hours end at 10:30 here, so ana's dialer-reported connects at 10:45 (inside Connect
    Day) are flagged on arrival; her win then waits for a review before the wheel spins."""
    bot = connect_day
    with bot.session_factory.begin() as session:
        set_trust_setting(session, TEAM_ID, "hours", "06:00-10:30", actor="U_MGR", now=bot.clock())
    batch = [
        item("ana", "2026-11-26T10:45:00-05:00", "U_ANA", quantity=12),
        item("ben", "2026-11-26T10:15:00-05:00", "U_BEN", quantity=7),
    ]
    assert {r["status"] for r in post(bot, {"activities": batch}, new_key(bot)).json()["results"]} == {"created"}
    # Flagged on arrival, before anything closes.
    wait_until(lambda: [f.rule for f in flags(bot)] == ["hours"], what=lambda: f"ana's flag ({flags(bot)})")
    (flag,) = flags(bot)

    bot.clock.advance(timedelta(minutes=5))
    assert "Closed Connect Day in AMER" in bot.pg_reply("close", user_id="U_MGR")["text"]
    bot.settle()
    refused = bot.pg_reply("spin", user_id="U_MGR")
    assert "ana has a flag to review on Connect Day" in refused["text"]
    bot.settle()
    with bot.session_factory() as session:
        assert session.scalars(select(Spin)).all() == []

    with bot.session_factory.begin() as session:
        resolve_flag(
            session, TEAM_ID, flag.id, keep=True, actor="U_MGR", reason="The dialer's log checks out", now=bot.clock()
        )
    bot.pg_reply("spin", user_id="U_MGR")
    bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    bot.settle()
    with bot.session_factory() as session:
        assert [s.member.user_id for s in session.scalars(select(Spin))] == ["U_ANA"]


class CountingFlagger(IngestedFlagger):
    def __init__(self, session_factory: sessionmaker[Session], clock: FakeClock) -> None:
        super().__init__(session_factory, clock)
        self.checks = 0

    def _check(self, batch: Any) -> None:
        super()._check(batch)
        self.checks += 1


def test_a_later_batch_from_the_same_night_adds_to_its_flag_rather_than_raising_another(team: LiveBot) -> None:
    bot = team
    flagger = CountingFlagger(bot.session_factory, bot.clock)
    web = Flask("ingestion-only")
    web.register_blueprint(ingestion_blueprint(bot.session_factory, bot.clock, lambda email: None, flagger=flagger))
    key = new_key(bot)
    with serve_wsgi(web) as base_url:
        bot.base_url = base_url
        post(bot, {"activities": [item("n1", TUESDAY_5AM_NY), item("n2", "2026-11-24T05:20:00-05:00")]}, key)
        wait_until(lambda: flagger.checks == 1, what="the first batch's check")
        post(
            bot,
            {"activities": [item("n3", "2026-11-24T05:40:00-05:00"), item("late", "2026-11-23T23:10:00-05:00")]},
            key,
        )
        wait_until(lambda: flagger.checks == 2, what="the second batch's check")
    before, after = flags(bot)  # Tuesday's early hours; Monday's late evening (another day)
    # The open flag is brought up to date: a manager reads the whole night so far.
    assert (before.figures["side"], before.figures["logs"], after.figures["side"]) == ("before", 3, "after")
    assert (before.figures["first_local_time"], before.figures["last_local_time"]) == ("05:00", "05:40")
    assert before.summary.startswith("3 connects recorded by ")
    assert before.summary.endswith(" 05:00–05:40 America/New_York, outside 06:00–22:00")
    assert after.summary.endswith("at 23:10 America/New_York, outside 06:00–22:00")
    with bot.session_factory() as session:
        # The night's flag covers the third night connect too: a void would take all three away.
        assert len(covered_activities(session, session.get(Flag, before.id))) == 3


@pytest.mark.parametrize("keep", [True, False])
def test_night_activity_arriving_after_a_manager_answered_the_nights_flag_is_a_new_flag(
    team: LiveBot, keep: bool
) -> None:
    """A manager kept (or voided) ana's 05:00 and 05:20 dialer connects; the dialer then reports
    05:40 and 05:50: a new flag covers those two only, not silently the kept (or voided) one."""
    bot = team
    flagger = CountingFlagger(bot.session_factory, bot.clock)
    web = Flask("ingestion-only")
    web.register_blueprint(ingestion_blueprint(bot.session_factory, bot.clock, lambda email: None, flagger=flagger))
    key = new_key(bot)
    with serve_wsgi(web) as base_url:
        bot.base_url = base_url
        post(bot, {"activities": [item("n1", TUESDAY_5AM_NY), item("n2", "2026-11-24T05:20:00-05:00")]}, key)
        wait_until(lambda: flagger.checks == 1, what="the first batch's check")
        (first,) = flags(bot)
        with bot.session_factory.begin() as session:
            resolve_flag(session, TEAM_ID, first.id, keep=keep, actor="U_MGR", reason="Seen", now=bot.clock())
        post(bot, {"activities": [item("n3", "2026-11-24T05:40:00-05:00")]}, key)
        wait_until(lambda: flagger.checks == 2, what="the second batch's check")
        post(bot, {"activities": [item("n4", "2026-11-24T05:50:00-05:00")]}, key)
        wait_until(lambda: flagger.checks == 3, what="the third batch's check")
    answered, new = flags(bot)
    assert (answered.id, answered.state, answered.figures["logs"]) == (first.id, "kept" if keep else "voided", 2)
    assert (new.state, new.rule, new.activity_type) == ("open", "hours", "connect")
    assert (new.figures["logs"], new.figures["first_local_time"], new.figures["last_local_time"]) == (
        2,
        "05:40",
        "05:50",
    )
    assert new.summary.endswith(" 05:40–05:50 America/New_York, outside 06:00–22:00")
    with bot.session_factory() as session:
        covered = covered_activities(session, session.get(Flag, new.id))
        assert [a.idempotency_key.rpartition(":")[2] for a in covered] == ["n3", "n4"]
