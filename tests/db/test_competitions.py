"""Prospecting days against a real database: configuration, region-local windows (midnight,
DST), closing, board defaults, and the throttled live standings message."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import LoggedActivity, log_activity
from bot.domain.board_view import BoardRequest, board_for
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import DayKey, LoggedFacts, day_window, days_touched_by, ensure_day
from bot.domain.competition_definitions import add_competition, list_competitions, remove_competition
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region, set_role
from bot.domain.errors import Conflict, NotFound
from bot.domain.grammar import BoardCommand, LogCommand
from bot.domain.live_standings import LIVE_EDIT_INTERVAL
from bot.domain.wheel import commitment
from bot.features.competitions import _refresh_after_log
from bot.posting.competition_posts import (
    NoChannel,
    post_kickoff,
    post_last_call,
    post_results,
)
from bot.posting.live_standings import LiveStandingsRefresher
from models import Activity, Competition, CompetitionDay, CompetitionWinner, Region
from tests.support.clock import FakeClock
from tests.support.slack_stub import Call, SlackStub

TEAM = "T1"
THURSDAY = date(2026, 11, 26)
# 10:00 in New York (EST, UTC-5) on Thursday 26 Nov 2026: inside Connect Day's window.
THURSDAY_MORNING_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def setup_regions(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "APAC", "Asia/Tokyo", "C_APAC", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")


def region(session: Session, name: str) -> Region:
    return session.scalars(select(Region).where(Region.team_id == TEAM, Region.name == name)).one()


def person(session: Session, user_id: str, region_name: str, role: str = "rep") -> None:
    join_region(session, TEAM, user_id, user_id.lower(), region_name)
    if role != "rep":
        set_role(session, TEAM, "test", user_id, role)


def log(session: Session, user_id: str, n: float, kind: str, at: datetime) -> LoggedActivity:
    member = ensure_member(session, TEAM, user_id, user_id)
    return log_activity(session, member, LogCommand(type=kind, quantity=n), now=at, idempotency_key=None).activity


def connect_day(session: Session, **changes: object) -> Competition:
    spec = PRESETS["connect-day"]
    for name, value in changes.items():
        spec = CompetitionSpec(**{**spec.__dict__, name: value})
    return add_competition(session, TEAM, spec, actor="test")


def night_owls(session: Session) -> Competition:
    """A 01:00–04:00 Sunday window straddling DST changes: the window arithmetic must be right."""
    competition = connect_day(session, name="Night Owls", weekday=6)
    competition.start_local, competition.end_local = time(1), time(4)
    session.flush()
    return competition


def day_of(session: Session, competition: Competition, region_name: str, local_date: date) -> CompetitionDay:
    return ensure_day(session, competition, region(session, region_name), local_date)


# --- configuration ----------------------------------------------------------------------


def test_windows_in_the_small_hours_are_accepted(session: Session) -> None:
    # Daylight-saving changes are handled when the posts are scheduled (bot/scheduler/timing.py).
    setup_regions(session)
    owls = connect_day(session, name="Night Owls", weekday=6, start=time(1), end=time(4))
    assert (owls.start_local, owls.end_local) == (time(1), time(4))


def test_presets_are_the_two_classics(session: Session) -> None:
    setup_regions(session)
    add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    add_competition(session, TEAM, PRESETS["booking-day"], actor="test")

    listed = [
        (c.name, c.weekday, c.metric, c.start_local, c.end_local, c.winners_per_region, c.leaders_win)
        for c in list_competitions(session, TEAM)
    ]
    assert listed == [
        ("Booking Day", 2, "meeting", time(8), time(17, 30), 1, False),
        ("Connect Day", 3, "connect", time(8), time(17, 30), 1, False),
    ]


def test_add_validates_and_refuses_duplicates(session: Session) -> None:
    setup_regions(session)
    connect_day(session)
    with pytest.raises(Conflict, match="already"):
        connect_day(session, name="connect day")
    with pytest.raises(Conflict, match="end after it starts"):
        connect_day(session, name="Late", start=time(18), end=time(9))
    with pytest.raises(NotFound, match="MARS"):
        connect_day(session, name="Mars Day", regions=("MARS",))
    with pytest.raises(Conflict, match="activity type"):
        connect_day(session, name="Odd", metric="unicorn")


def test_removing_keeps_history_and_the_name_can_come_back(session: Session) -> None:
    setup_regions(session)
    used = connect_day(session)
    day_of(session, used, "AMER", THURSDAY)
    add_competition(session, TEAM, PRESETS["booking-day"], actor="test")

    assert remove_competition(session, TEAM, "booking day", actor="test") is True  # no history: deleted
    assert remove_competition(session, TEAM, "Connect Day", actor="test") is False  # deactivated
    assert list_competitions(session, TEAM) == []
    assert session.scalar(select(func.count()).select_from(CompetitionDay)) == 1

    back = connect_day(session, winners=2)
    assert back.id == used.id and back.active and back.winners_per_region == 2


# --- windows: a log counts toward the day whose region-local window it falls in --------------


def test_window_is_local_time_in_the_regions_zone(session: Session) -> None:
    setup_regions(session)
    competition = connect_day(session)
    new_york = day_window(competition, region(session, "AMER"), THURSDAY)
    tokyo = day_window(competition, region(session, "APAC"), THURSDAY)

    assert (new_york.start, new_york.end) == (
        datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 22, 30, tzinfo=UTC),
    )
    # Thursday 08:00 in Tokyo is still Wednesday in UTC.
    assert (tokyo.start, tokyo.end) == (
        datetime(2026, 11, 25, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("at", "counts"),
    [
        (datetime(2026, 11, 25, 22, 59, 59, tzinfo=UTC), False),  # Thu 07:59:59 in Tokyo
        (datetime(2026, 11, 25, 23, 0, tzinfo=UTC), True),  # Thu 08:00 in Tokyo, Wed in UTC
        (datetime(2026, 11, 26, 8, 29, 59, tzinfo=UTC), True),
        (datetime(2026, 11, 26, 8, 30, tzinfo=UTC), False),  # end is exclusive
        (datetime(2026, 11, 26, 20, 0, tzinfo=UTC), False),  # Fri 05:00 in Tokyo
    ],
)
def test_log_counts_by_the_regions_local_window_across_utc_midnight(
    session: Session, at: datetime, counts: bool
) -> None:
    setup_regions(session)
    connect_day(session)
    person(session, "U_KEN", "APAC")

    activity = log(session, "U_KEN", 3, "connect", at)

    touched = days_touched_by(session, activity)
    assert [(d.local_date, d.region.name) for d in touched] == ([(THURSDAY, "APAC")] if counts else [])


def test_other_regions_metrics_and_unscoped_regions_do_not_count(session: Session) -> None:
    setup_regions(session)
    connect_day(session, regions=("AMER",))
    person(session, "U_ANA", "AMER")
    person(session, "U_KEN", "APAC")

    assert days_touched_by(session, log(session, "U_KEN", 2, "connect", THURSDAY_MORNING_NY)) == []
    assert days_touched_by(session, log(session, "U_ANA", 2, "meeting", THURSDAY_MORNING_NY)) == []
    assert len(days_touched_by(session, log(session, "U_ANA", 2, "connect", THURSDAY_MORNING_NY))) == 1


@pytest.mark.parametrize(
    ("local_date", "start_utc", "hours"),
    [
        # Fall back: 01:00 EDT is 05:00 UTC; 04:00 EST is 09:00 UTC — the day has a 4-hour window.
        (date(2026, 11, 1), datetime(2026, 11, 1, 5, 0, tzinfo=UTC), 4),
        # Spring forward: 01:00 EST is 06:00 UTC; 04:00 EDT is 08:00 UTC — only 2 hours.
        (date(2026, 3, 8), datetime(2026, 3, 8, 6, 0, tzinfo=UTC), 2),
        # An ordinary Sunday: 3 hours.
        (date(2026, 11, 8), datetime(2026, 11, 8, 6, 0, tzinfo=UTC), 3),
    ],
)
def test_dst_days_are_as_long_as_the_region_lives_them(
    session: Session, local_date: date, start_utc: datetime, hours: int
) -> None:
    setup_regions(session)
    competition = night_owls(session)
    window = day_window(competition, region(session, "AMER"), local_date)
    assert window.start == start_utc
    assert window.end - window.start == timedelta(hours=hours)


def test_both_passes_of_the_repeated_hour_count_on_fall_back_day(session: Session) -> None:
    setup_regions(session)
    night_owls(session)
    person(session, "U_ANA", "AMER")
    first_pass = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    for at in (first_pass, second_pass):
        assert len(days_touched_by(session, log(session, "U_ANA", 1, "connect", at))) == 1
    day = session.scalars(select(CompetitionDay)).one()
    assert [row.standing.total for row in day_standings(session, day)] == [2]


# --- closing ---------------------------------------------------------------------------------


def test_close_picks_top_eligible_rep_and_commits_to_the_seed(session: Session) -> None:
    setup_regions(session)
    competition = connect_day(session)
    person(session, "U_ANA", "AMER")
    person(session, "U_BEN", "AMER")
    person(session, "U_CRO", "AMER", role="leader")
    log(session, "U_CRO", 9, "connect", THURSDAY_MORNING_NY)  # leaders rank, but don't win by default
    log(session, "U_ANA", 5, "connect", THURSDAY_MORNING_NY)
    log(session, "U_BEN", 7, "connect", THURSDAY_MORNING_NY + timedelta(hours=1))
    log(session, "U_ANA", 50, "connect", THURSDAY_MORNING_NY - timedelta(hours=3))  # before 08:00
    day = day_of(session, competition, "AMER", THURSDAY)

    result = close_day(session, day, THURSDAY_MORNING_NY + timedelta(hours=8), closed_by="U_MGR")

    assert result.closed_now
    assert [(r.standing.name, r.standing.total, r.standing.is_leader) for r in result.standings] == [
        ("u_cro", 9, True),
        ("u_ben", 7, False),
        ("u_ana", 5, False),
    ]
    assert [w.standing.name for w in result.winners] == ["u_ben"]
    assert [(w.place, w.member.user_id, w.total) for w in day.winners] == [(1, "U_BEN", 7)]
    assert day.status == "closed" and day.seed and day.commitment == commitment(day.seed)


def test_leaders_win_and_several_winners(session: Session) -> None:
    setup_regions(session)
    competition = connect_day(session, leaders_win=True, winners=2)
    person(session, "U_CRO", "AMER", role="leader")
    person(session, "U_ANA", "AMER")
    person(session, "U_BEN", "AMER")
    log(session, "U_CRO", 9, "connect", THURSDAY_MORNING_NY)
    log(session, "U_ANA", 5, "connect", THURSDAY_MORNING_NY)
    log(session, "U_BEN", 1, "connect", THURSDAY_MORNING_NY)
    day = day_of(session, competition, "AMER", THURSDAY)

    close_day(session, day, THURSDAY_MORNING_NY + timedelta(hours=1), closed_by="U_MGR")

    assert [(w.place, w.member.user_id) for w in day.winners] == [(1, "U_CRO"), (2, "U_ANA")]


def test_closing_early_freezes_the_standings_and_closing_again_changes_nothing(session: Session) -> None:
    setup_regions(session)
    competition = connect_day(session)
    person(session, "U_ANA", "AMER")
    log(session, "U_ANA", 2, "connect", THURSDAY_MORNING_NY)
    day = day_of(session, competition, "AMER", THURSDAY)
    first = close_day(session, day, THURSDAY_MORNING_NY + timedelta(minutes=1), closed_by="U_MGR")
    seed = day.seed
    late = log(session, "U_ANA", 40, "connect", THURSDAY_MORNING_NY + timedelta(hours=1))

    again = close_day(session, day, THURSDAY_MORNING_NY + timedelta(hours=2), closed_by="U_OTHER")

    assert first.closed_now and not again.closed_now
    assert days_touched_by(session, late) == []
    assert [r.standing.total for r in again.standings] == [2]
    assert (day.seed, day.closed_by) == (seed, "U_MGR")
    assert session.scalar(select(func.count()).select_from(CompetitionWinner)) == 1


def test_closing_before_the_start_is_refused(session: Session) -> None:
    setup_regions(session)
    day = day_of(session, connect_day(session), "AMER", THURSDAY)
    with pytest.raises(Conflict, match="hasn't started"):
        close_day(session, day, datetime(2026, 11, 26, 12, 59, tzinfo=UTC), closed_by="U_MGR")
    assert day.status == "open"


def test_two_closers_at_once_close_it_once(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        setup_regions(session)
        competition = connect_day(session)
        person(session, "U_ANA", "AMER")
        log(session, "U_ANA", 2, "connect", THURSDAY_MORNING_NY)
        day_id = day_of(session, competition, "AMER", THURSDAY).id
    barrier = threading.Barrier(4)
    outcomes: list[bool] = []

    def close(user: str) -> None:
        barrier.wait()
        with session_factory.begin() as session:
            day = session.get(CompetitionDay, day_id)
            assert day is not None
            outcomes.append(close_day(session, day, THURSDAY_MORNING_NY + timedelta(hours=1), user).closed_now)

    run_threads([partial(close, f"U_MGR{n}") for n in range(4)])

    assert sorted(outcomes) == [False, False, False, True]
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(CompetitionWinner)) == 1


def run_threads(actions: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(action: Callable[[], None]) -> None:
        try:
            action()
        except BaseException as error:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]


# --- /pg board on a competition day ------------------------------------------------------------


def test_board_defaults_to_todays_metric_on_a_competition_day(session: Session) -> None:
    setup_regions(session)
    add_competition(session, TEAM, PRESETS["booking-day"], actor="test")  # Wednesdays, meetings
    person(session, "U_ANA", "AMER")
    wednesday = THURSDAY_MORNING_NY - timedelta(days=1)

    on_the_day, _ = board_for(session, BoardRequest(TEAM, "U_ANA", BoardCommand(), wednesday))
    other_day, _ = board_for(session, BoardRequest(TEAM, "U_ANA", BoardCommand(), THURSDAY_MORNING_NY))
    asked, _ = board_for(session, BoardRequest(TEAM, "U_ANA", BoardCommand(type="call"), wednesday))
    # Wednesday 20:00 in Tokyo is still Wednesday 06:00 in New York: Tokyo's own date decides.
    tokyo_thursday, _ = board_for(
        session, BoardRequest(TEAM, "U_ANA", BoardCommand(region="APAC"), datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    )

    assert (on_the_day.activity_type, on_the_day.window.period) == ("meeting", "today")
    assert (other_day.activity_type, other_day.window.period) == ("connect", "week")
    assert (asked.activity_type, asked.window.period) == ("call", "today")
    assert (tokyo_thursday.activity_type, tokyo_thursday.window.period) == ("connect", "week")


# --- live standings: one message, edited in place, throttled, final state lands ------------------


@dataclass
class ManualTimers:
    """Stands in for threading.Timer: the test decides when deferred flushes run."""

    clock: FakeClock
    due: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)

    def __call__(self, delay_seconds: float, action: Callable[[], None]) -> None:
        self.due.append((self.clock() + timedelta(seconds=delay_seconds), action))

    def run_due(self) -> int:
        ready = [item for item in self.due if item[0] <= self.clock()]
        self.due = [item for item in self.due if item[0] > self.clock()]
        for _, action in ready:
            action()
        return len(ready)


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as slack:
        yield slack
    assert slack.errors == []


def shown(call: Call) -> str:
    """The blocks a chat.* call sent, as readable text."""
    return json.dumps(call.json_arg("blocks"), ensure_ascii=False)


def live_day(session_factory: sessionmaker[Session]) -> CompetitionDay:
    with session_factory.begin() as session:
        return session.scalars(select(CompetitionDay).where(CompetitionDay.live_ts.is_not(None))).one()


def _live_setup(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        setup_regions(session)
        connect_day(session)
        person(session, "U_ANA", "AMER")
        person(session, "U_BEN", "AMER")


@dataclass
class LiveRig:
    """A Connect Day set up, a fake clock, manually run timers and `workers` refreshers."""

    clock: FakeClock
    timers: ManualTimers
    workers: list[LiveStandingsRefresher]


def _live_rig(session_factory: sessionmaker[Session], stub: SlackStub, workers: int = 1) -> LiveRig:
    _live_setup(session_factory)
    clock = FakeClock(THURSDAY_MORNING_NY)
    timers = ManualTimers(clock)
    return LiveRig(
        clock,
        timers,
        [LiveStandingsRefresher(stub.client(), session_factory, clock, start_timer=timers) for _ in range(workers)],
    )


def _log_and_notify(
    session_factory: sessionmaker[Session], refresher: LiveStandingsRefresher, user: str, n: int, at: datetime
) -> None:
    with session_factory.begin() as session:
        activity = log(session, user, n, "connect", at)
    refresher.on_log(activity)  # after the ack, as the log listener does


class BrokenRefresher(LiveStandingsRefresher):
    """The database fails while live standings are being marked."""

    def on_log(self, activity: LoggedFacts) -> None:
        raise OperationalError("UPDATE competition_days ...", {}, Exception("database is locked"))


def test_a_failing_live_refresh_never_costs_the_log(
    session_factory: sessionmaker[Session], stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    _live_setup(session_factory)
    listener = _refresh_after_log(BrokenRefresher(stub.client(), session_factory, FakeClock(THURSDAY_MORNING_NY)))

    with session_factory.begin() as session:  # the log handler's transaction
        result = log_activity(
            session,
            ensure_member(session, TEAM, "U_ANA", "Ana"),
            LogCommand("connect", 2),
            now=THURSDAY_MORNING_NY,
            idempotency_key="slash:t1",
        )
        follow_up = listener(session, result)
    assert follow_up is not None  # Thursday: Connect Day runs, so there is work for after the ack
    follow_up()

    assert "live standings refresh failed" in caplog.text
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 1
    assert stub.calls("chat.postMessage") == []


def test_logs_on_days_without_a_competition_of_their_metric_leave_nothing_for_after_the_ack(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    _live_setup(session_factory)
    listener = _refresh_after_log(BrokenRefresher(stub.client(), session_factory, FakeClock(THURSDAY_MORNING_NY)))
    wednesday = THURSDAY_MORNING_NY - timedelta(days=1)
    with session_factory.begin() as session:
        ana = ensure_member(session, TEAM, "U_ANA", "Ana")
        on_wednesday = log_activity(session, ana, LogCommand("connect", 1), now=wednesday, idempotency_key=None)
        a_meeting = log_activity(session, ana, LogCommand("meeting", 1), now=THURSDAY_MORNING_NY, idempotency_key=None)

        assert listener(session, on_wednesday) is None
        assert listener(session, a_meeting) is None


def test_live_message_is_posted_once_then_edits_coalesce_and_the_last_state_lands(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    rig = _live_rig(session_factory, stub)
    clock, timers, (refresher,) = rig.clock, rig.timers, rig.workers

    for second in range(10):  # ten logs in ten seconds
        _log_and_notify(session_factory, refresher, "U_ANA" if second % 2 else "U_BEN", 1, clock())
        clock.advance(timedelta(seconds=1))

    assert len(stub.calls("chat.postMessage")) == 1  # the live message, posted by the first log
    assert stub.calls("chat.update") == []  # everything since waits for the slot
    assert len(timers.due) == 1  # nine changes, one deferred flush
    clock.set(THURSDAY_MORNING_NY + LIVE_EDIT_INTERVAL)
    assert timers.run_due() == 1

    (edit,) = stub.calls("chat.update")
    day = live_day(session_factory)
    assert (edit.args["channel"], edit.args["ts"]) == ("C_AMER", day.live_ts)
    assert "u_ben — 5 connects" in shown(edit) and "u_ana — 5 connects" in shown(edit)
    assert "🔴 LIVE" in shown(edit)
    assert timers.due == [] and day.live_pending is False


def test_every_edit_is_at_least_the_interval_apart_under_steady_logging(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    rig = _live_rig(session_factory, stub)
    clock, timers, (refresher,) = rig.clock, rig.timers, rig.workers
    edit_times: list[datetime] = []

    def note_new_edits(before: int) -> int:
        now_count = len(stub.calls("chat.update")) + len(stub.calls("chat.postMessage"))
        edit_times.extend([clock()] * (now_count - before))
        return now_count

    count = 0
    for _ in range(40):  # a log every 4 s for 160 s
        _log_and_notify(session_factory, refresher, "U_ANA", 1, clock())
        count = note_new_edits(count)
        clock.advance(timedelta(seconds=4))
        timers.run_due()
        count = note_new_edits(count)
    clock.advance(timedelta(seconds=60))
    timers.run_due()
    note_new_edits(count)

    gaps = [b - a for a, b in itertools.pairwise(edit_times)]
    assert gaps and min(gaps) >= LIVE_EDIT_INTERVAL
    assert "u_ana — 40 connects" in shown(stub.calls("chat.update")[-1])
    assert len(edit_times) <= 1 + 160 // 30 + 1


def test_two_workers_share_one_message_and_one_edit_slot(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    rig = _live_rig(session_factory, stub, workers=2)
    clock, timers, workers = rig.clock, rig.timers, rig.workers

    _log_and_notify(session_factory, workers[0], "U_ANA", 1, clock())
    clock.advance(timedelta(seconds=31))
    _log_and_notify(session_factory, workers[1], "U_BEN", 2, clock())  # edits: the slot is free
    _log_and_notify(session_factory, workers[0], "U_ANA", 1, clock())  # waits: worker 1 just edited

    assert (len(stub.calls("chat.postMessage")), len(stub.calls("chat.update"))) == (1, 1)
    clock.advance(LIVE_EDIT_INTERVAL)
    timers.run_due()
    assert len(stub.calls("chat.update")) == 2
    assert "u_ana — 2 connects" in shown(stub.calls("chat.update")[-1])


# --- channel posts via the posting module -------------------------------------------------------


def test_results_are_posted_once_and_need_a_channel(session_factory: sessionmaker[Session], stub: SlackStub) -> None:
    with session_factory.begin() as session:
        setup_regions(session)
        competition = connect_day(session)
        person(session, "U_ANA", "AMER")
        log(session, "U_ANA", 4, "connect", THURSDAY_MORNING_NY)
        amer, emea = region(session, "AMER"), region(session, "EMEA")
        key = DayKey(TEAM, amer.id, competition.id, THURSDAY)
        emea_key = DayKey(TEAM, emea.id, competition.id, THURSDAY)
    client = stub.client()
    end = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 17:30 in New York

    assert post_kickoff(client, session_factory, key, THURSDAY_MORNING_NY) is True
    assert post_kickoff(client, session_factory, key, THURSDAY_MORNING_NY) is False
    assert post_last_call(client, session_factory, key, end - timedelta(minutes=30)) is True
    first = post_results(client, session_factory, key, end)
    second = post_results(client, session_factory, key, end + timedelta(minutes=1))
    with pytest.raises(NoChannel, match="pipeday region set EMEA"):
        post_results(client, session_factory, emea_key, end)

    assert first.posted and not first.already_closed
    assert second.already_closed and not second.posted
    texts = [call.args["text"] for call in stub.calls("chat.postMessage")]
    assert len(texts) == 4  # kickoff, live standings, last call, results — nothing from the second close
    assert texts[0].startswith("🏁 Connect Day starts now in AMER")
    assert texts[2].startswith("⏰ Last call: 30 minutes left")
    assert texts[3] == "🏆 Connect Day results — AMER: <@U_ANA> won"
    results_blocks = shown(stub.calls("chat.postMessage")[3])
    assert "spin_wheel" in results_blocks
    final_edit = shown(stub.calls("chat.update")[-1])
    assert "🏁 Final" in final_edit and "u_ana — 4 connects" in final_edit
    with session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay).where(CompetitionDay.region_id == key.region_id)).one()
        assert day.commitment is not None and day.seed is not None
        assert day.commitment in results_blocks and day.seed not in results_blocks
        assert day.results_ts is not None and day.results_channel_id == "C_AMER"
        emea_day = session.scalars(select(CompetitionDay).where(CompetitionDay.region_id == emea_key.region_id)).first()
        assert emea_day is None or emea_day.status == "open"  # refused before anything changed
