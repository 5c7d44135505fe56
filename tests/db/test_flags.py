"""Flag rules against a real database: baselines read from history (local days, DST), each rule
at its threshold and one below it, flags stored once, and the flags a competition day raises
when it closes (late surge, every winner's review, activity from other systems)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity
from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.flag_store import store_drafts
from bot.domain.flags import list_flags
from bot.domain.grammar import LogCommand
from bot.domain.trust_baselines import BaselineCache, BaselineReader, history_midnights, member_day_totals
from bot.domain.trust_checks import check_log
from bot.domain.trust_rules import LogFacts
from bot.domain.trust_settings import DEFAULTS, load_trust_settings, set_trust_setting
from bot.features.log_flagger import LogFlagger
from models import Activity, Competition, Flag, Member

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 24 Nov 2026, 10:00 in New York.
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
THURSDAY = date(2026, 11, 26)
BIG_LOG_ONLY = replace(DEFAULTS, day_total_percentile=None)


def setup(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")
    for user, region in (("U_ANA", "AMER"), ("U_BEN", "AMER"), ("U_CY", "AMER"), ("U_EVE", "EMEA")):
        join_region(session, TEAM, user, user.removeprefix("U_").lower(), region)


def member(session: Session, user: str) -> Member:
    return ensure_member(session, TEAM, user, user)


def add_history(
    session: Session, user: str, per_day: list[float], *, kind: str = "connect", before: date = date(2026, 11, 24)
) -> None:
    """One log a day on the days before `before` (noon local), the last entry the day before."""
    who = member(session, user)
    for back, quantity in enumerate(reversed(per_day), start=1):
        noon = datetime.combine(before - timedelta(days=back), time(12), tzinfo=NEW_YORK).astimezone(UTC)
        session.add(
            Activity(
                team_id=TEAM,
                member_id=who.id,
                region_id=who.region_id,
                type=kind,
                quantity=quantity,
                occurred_at=noon,
                logged_by=user,
                source="slash",
            )
        )
    session.flush()


def log(session: Session, user: str, quantity: float, *, at: datetime = NOW, kind: str = "connect") -> LogFacts:
    result = log_activity(session, member(session, user), LogCommand(kind, quantity), now=at, idempotency_key=None)
    return LogFacts.of(result)


def checked(session: Session, facts: LogFacts, settings=DEFAULTS) -> dict[str, str]:  # type: ignore[no-untyped-def]
    reader = BaselineReader(session, BaselineCache(), facts.local_date, facts.zone, settings.history_weeks)
    return {draft.rule: draft.summary for draft in check_log(session, facts, settings, reader)}


def test_a_big_log_against_the_members_own_eight_weeks(session: Session) -> None:
    setup(session)
    add_history(session, "U_ANA", [2.0] * 20 + [3.0] * 3)  # 23 days; 95th percentile 3
    assert checked(session, log(session, "U_ANA", 9), BIG_LOG_ONLY) == {}  # 3 × 3 = 9: at the threshold
    assert checked(session, log(session, "U_ANA", 10), BIG_LOG_ONLY) == {
        "big-log": "10 connects in one log; 3× this member's 95th-percentile day is 9 (8 weeks, 23 days)"
    }


def test_history_older_than_eight_weeks_and_undone_logs_dont_count(session: Session) -> None:
    setup(session)
    add_history(session, "U_ANA", [1.0] * 12, before=date(2026, 9, 1))  # too long ago
    add_history(session, "U_ANA", [1.0] * 9)
    undone = session.scalars(select(Activity).order_by(Activity.occurred_at.desc())).first()
    assert undone is not None
    undone.deleted_at = NOW
    session.flush()
    # 8 days of their own left: too few, and the region has no more than that either.
    assert checked(session, log(session, "U_ANA", 50), BIG_LOG_ONLY) == {}


def test_a_member_new_to_the_region_is_compared_with_the_regions_days(session: Session) -> None:
    setup(session)
    add_history(session, "U_BEN", [4.0] * 8)
    add_history(session, "U_CY", [2.0] * 8)
    add_history(session, "U_EVE", [1.0] * 30)  # another region's days are not AMER's
    add_history(session, "U_ANA", [1.0] * 2)  # 2 days of their own: too few
    # AMER: 18 member-days, 95th percentile 4 → 12.
    assert "big-log" not in checked(session, log(session, "U_ANA", 12))
    assert checked(session, log(session, "U_ANA", 13))["big-log"] == (
        "13 connects in one log; 3× AMER's 95th-percentile day is 12 (8 weeks, 18 member-days)"
    )


def test_a_day_above_the_regions_99th_percentile_day(session: Session) -> None:
    setup(session)
    add_history(session, "U_BEN", [10.0] * 10)
    add_history(session, "U_CY", [1.0] * 10)
    # AMER's days: ten of 1 and ten of 10: the 99th percentile is 10.
    assert "day-total" not in checked(session, log(session, "U_ANA", 3))
    for _ in range(2):
        log(session, "U_ANA", 3)
    assert "day-total" not in checked(session, log(session, "U_ANA", 1))  # 10 in the day: not above
    assert checked(session, log(session, "U_ANA", 1))["day-total"] == (
        "11 connects in the day; AMER's 99th-percentile day is 10 (8 weeks, 20 member-days)"
    )


def test_ten_typed_logs_within_sixty_seconds_are_a_burst_and_nine_are_not(session: Session) -> None:
    setup(session)
    start = NOW
    facts = [log(session, "U_ANA", 1, at=start + timedelta(seconds=6 * n)) for n in range(9)]  # 0..48 s
    assert "burst" not in checked(session, facts[-1])
    log(session, "U_ANA", 1, at=start - timedelta(seconds=61))  # outside the minute
    tenth = log(session, "U_ANA", 1, at=start + timedelta(seconds=59))
    found = check_log(session, tenth, DEFAULTS, BaselineReader(session, BaselineCache(), tenth.local_date, NEW_YORK, 8))
    (burst,) = [draft for draft in found if draft.rule == "burst"]
    assert burst.summary == "10 logs within 59 s (10:00:00–10:00:59 America/New_York); the rule is 10 within 60 s"
    store_drafts(session, [burst], NOW)
    # The eleventh log of the same burst isn't a second burst: the first flag covers its logs.
    eleventh = log(session, "U_ANA", 1, at=start + timedelta(seconds=60))
    assert "burst" not in checked(session, eleventh)


def test_logs_at_night_are_flagged_with_the_local_time(session: Session) -> None:
    setup(session)
    five_am = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert checked(session, log(session, "U_ANA", 1, at=five_am)) == {
        "hours": "1 connect logged at 05:00 America/New_York, outside 06:00–22:00"
    }
    assert checked(session, log(session, "U_EVE", 1, at=five_am)) == {}  # 10:00 in London


def test_flags_are_stored_once_and_a_workspace_setting_changes_the_rule(session: Session) -> None:
    setup(session)
    night = log(session, "U_ANA", 1, at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    reader = BaselineReader(session, BaselineCache(), night.local_date, NEW_YORK, 8)
    drafts = check_log(session, night, DEFAULTS, reader)
    assert len(store_drafts(session, drafts, NOW)) == 1
    assert store_drafts(session, drafts, NOW) == []  # the same flag again: nothing new
    assert session.scalar(select(func.count()).select_from(Flag)) == 1

    set_trust_setting(session, TEAM, "hours", "04:00-23:00", actor="cli", now=NOW)
    assert checked(session, night, load_trust_settings(session, TEAM)) == {}
    set_trust_setting(session, TEAM, "hours", "off", actor="cli", now=NOW)
    assert load_trust_settings(session, TEAM).hours is None


def test_a_members_days_are_their_regions_local_days_across_dst(session: Session) -> None:
    setup(session)
    who = member(session, "U_ANA")
    # 23:30 local on Sat 7 Mar (EST) and on Sun 8 Mar (EDT, the day DST starts): each its own local day.
    for utc in (datetime(2026, 3, 8, 4, 30, tzinfo=UTC), datetime(2026, 3, 9, 3, 30, tzinfo=UTC)):
        session.add(
            Activity(
                team_id=TEAM, member_id=who.id, region_id=who.region_id, type="call", quantity=2,
                occurred_at=utc, logged_by="U_ANA", source="slash",
            )
        )  # fmt: skip
    # 00:30 EDT on Mon 9 Mar belongs to the 9th, which is "today" here: not history.
    session.add(
        Activity(
            team_id=TEAM, member_id=who.id, region_id=who.region_id, type="call", quantity=5,
            occurred_at=datetime(2026, 3, 9, 4, 30, tzinfo=UTC), logged_by="U_ANA", source="slash",
        )
    )  # fmt: skip
    session.flush()
    midnights = history_midnights(date(2026, 3, 9), NEW_YORK, weeks=1)
    assert sorted(member_day_totals(session, who.id, "call", midnights)) == [2.0, 2.0]


# --- flags a competition day raises when it closes ---------------------------------------------


def connect_day(session: Session, *, review: str = "flags") -> Competition:
    competition = add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    competition.review = review
    return competition


def at_local(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


def test_a_late_surge_is_flagged_when_the_day_closes_at_its_end(session: Session) -> None:
    setup(session)
    competition = connect_day(session)
    for user, early, late in (("U_ANA", 5, 6), ("U_BEN", 5, 5)):
        log(session, user, early, at=at_local(THURSDAY, 12, 0))
        log(session, user, late, at=at_local(THURSDAY, 17, 25))
    region = member(session, "U_ANA").region
    assert region is not None
    day = ensure_day(session, competition, region, THURSDAY)

    close_day(session, day, at_local(THURSDAY, 17, 30), closed_by="scheduler")

    flags, total = list_flags(session, TEAM)
    assert total == 1 and flags[0].rule == "late-surge" and flags[0].user_id == "U_ANA"
    # 6 of 11 grew in the last 10 minutes: more than half. Ben's 5 of 10 is half: not more.
    assert (
        flags[0].summary
        == "6 connects of a final 11 connects came in the last 10 minutes of Connect Day (more than 50%)"
    )
    assert flags[0].covered.quantities == {"connect": 6.0}  # a void would take the late logs only


def test_a_day_closed_early_had_no_last_minutes_to_rush_into(session: Session) -> None:
    setup(session)
    competition = connect_day(session)
    log(session, "U_ANA", 9, at=at_local(THURSDAY, 10, 0))
    region = member(session, "U_ANA").region
    assert region is not None
    day = ensure_day(session, competition, region, THURSDAY)
    close_day(session, day, at_local(THURSDAY, 10, 5), closed_by="U_MGR")
    assert list_flags(session, TEAM)[1] == 0


def test_a_competition_that_reviews_every_winner_flags_each_winner_at_the_close(session: Session) -> None:
    setup(session)
    spec = CompetitionSpec("Call Blitz", 3, "call", winners=2)
    competition = add_competition(session, TEAM, spec, actor="test")
    competition.review = "always"
    for user, calls in (("U_ANA", 4), ("U_BEN", 6), ("U_CY", 1)):
        log(session, user, calls, kind="call", at=at_local(THURSDAY, 11, 0))
    region = member(session, "U_ANA").region
    assert region is not None
    close_day(session, ensure_day(session, competition, region, THURSDAY), at_local(THURSDAY, 12, 0), "U_MGR")
    flags, _ = list_flags(session, TEAM)
    assert sorted((f.user_id, f.rule) for f in flags) == [("U_ANA", "review"), ("U_BEN", "review")]
    assert "Call Blitz reviews every winner before the spin: 6 calls" in [f.summary for f in flags]


def test_activity_from_other_systems_is_checked_when_the_day_closes(session: Session) -> None:
    setup(session)
    competition = connect_day(session)
    add_history(session, "U_ANA", [2.0] * 12, before=THURSDAY)
    ana = member(session, "U_ANA")
    session.add(
        Activity(
            team_id=TEAM, member_id=ana.id, region_id=ana.region_id, type="connect", quantity=7,
            occurred_at=at_local(THURSDAY, 11, 0), logged_by="api", source="aircall",
        )
    )  # fmt: skip
    session.flush()
    region = ana.region
    assert region is not None
    close_day(session, ensure_day(session, competition, region, THURSDAY), at_local(THURSDAY, 12, 0), "U_MGR")
    flags, _ = list_flags(session, TEAM)
    assert sorted((f.rule, f.summary) for f in flags) == [
        ("big-log", "7 connects in one log; 3× this member's 95th-percentile day is 6 (8 weeks, 12 days)"),
        ("day-total", "7 connects in the day; AMER's 99th-percentile day is 2 (8 weeks, 12 member-days)"),
    ]


def test_the_after_ack_check_stores_what_it_finds_and_a_failure_never_reaches_the_log(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with session_factory.begin() as session:
        setup(session)
        night = log(session, "U_ANA", 1, at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    flagger = LogFlagger(session_factory, lambda: NOW)
    flagger.check(night)
    flagger.check(night)  # the same log checked twice (a retried follow-up): one flag
    with session_factory.begin() as session:
        assert session.scalars(select(Flag.rule)).all() == ["hours"]

    class Unreachable:
        kw: dict[str, Any] = {}  # noqa: RUF012 - as a sessionmaker has: no bind of its own

        def begin(self) -> Any:
            raise OperationalError("SELECT 1", {}, Exception("database is down"))

    LogFlagger(Unreachable(), lambda: NOW).check(night)  # type: ignore[arg-type]
    assert "flag rules failed for activities" in caplog.text


def test_a_check_that_raises_nothing_never_waits_for_a_writer(session_factory: sessionmaker[Session]) -> None:
    """On SQLite the check reads beside the writers, outside the write gate: a check during an
    ingest used to hold the gate while it read weeks of activity, and the next `/pg` waited."""
    with session_factory.begin() as session:
        setup(session)
        daytime = log(session, "U_ANA", 1)
    holding, release = threading.Event(), threading.Event()

    def long_write() -> None:  # an ingested chunk, say, mid-transaction
        with session_factory.begin() as session:
            log(session, "U_BEN", 1)  # its first write: on SQLite the gate is held from here on
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(10)
        checking = threading.Thread(target=LogFlagger(session_factory, lambda: NOW).check, args=(daytime,))
        checking.start()
        checking.join(2)
        assert not checking.is_alive(), "the check waited for the writer"
    finally:
        release.set()
        writer.join(10)
    with session_factory.begin() as session:
        assert session.scalars(select(Flag.rule)).all() == []


def test_logs_checked_at_once_share_a_checker_and_none_is_left_behind(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        setup(session)
        nights = [log(session, "U_ANA", 1, at=datetime(2026, 11, 24, 9, minute, tzinfo=UTC)) for minute in range(12)]
    flagger = LogFlagger(session_factory, lambda: NOW)
    batches: list[int] = []
    check_batch = flagger._check_batch

    def counting(batch: list[LogFacts]) -> None:
        batches.append(len(batch))
        check_batch(batch)

    flagger._check_batch = counting  # type: ignore[method-assign]
    start = threading.Barrier(len(nights))

    def follow_up(facts: LogFacts) -> None:
        start.wait()
        flagger.check(facts)

    threads = [threading.Thread(target=follow_up, args=(facts,)) for facts in nights]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Flag).where(Flag.rule == "hours")) == 12
    assert sum(batches) == 12 and not flagger._checking  # every log checked once, and nobody still checking


def test_a_logs_own_query_counts_the_members_typed_logs_of_the_last_minute(session: Session) -> None:
    setup(session)
    ana = member(session, "U_ANA")
    session.add(
        Activity(
            team_id=TEAM, member_id=ana.id, region_id=ana.region_id, type="call", quantity=1,
            occurred_at=NOW - timedelta(seconds=5), logged_by="api", source="aircall",
        )
    )  # fmt: skip
    log(session, "U_ANA", 1, at=NOW - timedelta(seconds=61))  # over a minute before
    log(session, "U_ANA", 1, at=NOW - timedelta(seconds=30), kind="email")
    result = log_activity(session, ana, LogCommand("connect", 1), now=NOW, idempotency_key=None)
    assert result.recent_typed_logs == 2  # the email and this one: typed, within the minute


def test_the_listener_hands_a_log_on_only_when_it_could_trip_a_rule(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        setup(session)
        add_history(session, "U_BEN", [5.0] * 12)
        ana = member(session, "U_ANA")
        results = [
            log_activity(session, ana, LogCommand("connect", 1), now=NOW + timedelta(minutes=n), idempotency_key=None)
            for n in range(3)
        ]
    flagger = LogFlagger(session_factory, lambda: NOW)
    first = flagger.listener(cast(Session, None), results[0])
    assert first is not None  # nothing known in this process yet: check, and learn
    first()
    assert flagger.listener(cast(Session, None), results[1]) is None  # daytime, 2 connects, few logs
    with session_factory.begin() as session:
        night = log_activity(
            session, member(session, "U_ANA"), LogCommand("connect", 1), now=datetime(2026, 11, 24, 9, tzinfo=UTC),
            idempotency_key=None,
        )  # fmt: skip
    assert flagger.listener(cast(Session, None), night) is not None
