"""The lift report's figures on seeded and hand-built data (SQLite and PostgreSQL).

Seeded: twenty reps, twenty weeks, Connect Day on the last ten Thursdays. With connects at
1.5× on its days the report finds about 1.5× and an interval clear of 1; with no effect the
interval spans 1. Hand-built: the follow-up and the leaders' effect, figured out by hand in
the comments, across the fall-back night of 1 Nov 2026 in New York.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.domain.calendar_store import add_holiday, work_calendar
from bot.domain.lift import _assemble, lift_period, lift_report, region_lift
from bot.domain.lift_data import Period, load_region_days, region_competitions
from bot.domain.lift_text import competition_headline, leaders_headline
from models import Activity, Region
from tests.support.lift_data import (
    NEW_YORK,
    NOW,
    TEAM,
    Log,
    add_people,
    competition,
    local,
    make_region,
    ran_on,
    seed_connects,
    store_logs,
    weekdays_back,
)

WEEKS = 20
LAST_DAY = date(2026, 11, 26)  # NOW is Friday 27 Nov; the period ends the day before
FIRST_DAY = date(2026, 7, 6)  # Monday, twenty whole weeks before this week's Monday


def seeded(session: Session, competition_rate: float, seed: int) -> Region:
    region = make_region(session)
    reps = add_people(session, region, "rep", 20, "REP")
    connect_day = competition(session, "Connect Day", 3, "connect")
    ran = weekdays_back(LAST_DAY, 3, 10)
    ran_on(session, connect_day, region, ran)
    seed_connects(
        session, reps, FIRST_DAY, LAST_DAY, set(ran), ordinary_rate=4.0, competition_rate=competition_rate, seed=seed
    )
    return region


def test_the_period_is_whole_weeks_and_this_week_up_to_yesterday() -> None:
    period = lift_period(NOW, NEW_YORK, WEEKS)
    assert (period.first_day, period.last_day) == (FIRST_DAY, LAST_DAY)
    with pytest.raises(ValueError):
        lift_period(NOW, NEW_YORK, 0)


def test_a_known_effect_of_one_and_a_half_is_found(session: Session) -> None:
    region = seeded(session, competition_rate=6.0, seed=1)
    (report,) = lift_report(session, TEAM, NOW, weeks=WEEKS)
    assert (report.region_name, report.reps, report.leaders) == ("AMER", 20, 0)
    (lift,) = report.competitions
    ordinary = lift.vs_ordinary
    assert (ordinary.days_with, ordinary.samples_with) == (10, 200)
    # 21 weeks of weekdays (the last one to Thursday) less the 10 Connect Days.
    assert (ordinary.days_without, ordinary.samples_without) == (20 * 5 + 4 - 10, (20 * 5 + 4 - 10) * 20)
    assert ordinary.ratio is not None and 1.35 <= ordinary.ratio <= 1.65
    assert ordinary.ratio_interval is not None and ordinary.ratio_interval.low is not None
    assert ordinary.ratio_interval.low > 1.0 and ordinary.direction == 1
    assert ordinary.difference_interval is not None and ordinary.difference_interval.excludes(0.0)
    # The eleven earlier Thursdays are the other baseline.
    same_weekday = lift.vs_same_weekday
    assert same_weekday is not None and (same_weekday.days_with, same_weekday.days_without) == (10, 11)
    assert same_weekday.ratio_interval is not None and same_weekday.ratio_interval.low is not None
    assert same_weekday.ratio_interval.low > 1.0
    assert "Connect Day is associated with 1." in competition_headline(lift)
    # Seeded: the same data gives the same interval.
    again = region_lift(session, region, NOW, weeks=WEEKS).competitions[0].vs_ordinary
    assert again.ratio_interval == ordinary.ratio_interval


def test_no_effect_gives_an_interval_that_includes_one(session: Session) -> None:
    seeded(session, competition_rate=4.0, seed=2)
    (lift,) = lift_report(session, TEAM, NOW, weeks=WEEKS)[0].competitions
    interval = lift.vs_ordinary.ratio_interval
    assert interval is not None and interval.low is not None and interval.high is not None
    assert interval.low < 1.0 < interval.high
    assert lift.vs_ordinary.direction == 0
    headline = competition_headline(lift)
    assert headline.startswith("Connect Day: no clear difference in connects per rep")
    assert "associated" not in headline and "caused" not in headline


def test_fewer_than_eight_days_a_side_is_not_enough_data(session: Session) -> None:
    region = make_region(session)
    reps = add_people(session, region, "rep", 5, "REP")
    connect_day = competition(session, "Connect Day", 3, "connect")
    ran = weekdays_back(LAST_DAY, 3, 7)
    ran_on(session, connect_day, region, ran)
    seed_connects(session, reps, FIRST_DAY, LAST_DAY, set(ran), ordinary_rate=4, competition_rate=8, seed=3)
    (lift,) = lift_report(session, TEAM, NOW, weeks=WEEKS)[0].competitions
    assert lift.vs_ordinary.days_with == 7 and not lift.vs_ordinary.enough_data
    assert lift.vs_ordinary.ratio_interval is None and lift.vs_ordinary.difference_interval is None
    assert lift.vs_ordinary.direction == 0
    assert competition_headline(lift) == (
        "Connect Day: not enough data yet (7 Connect Days and 97 ordinary working days so far; 8 of each needed)."
    )  # 104 weekdays less the 7 Connect Days
    # With eight it says something.
    ran_on(session, connect_day, region, [LAST_DAY - timedelta(weeks=7)])
    (lift,) = lift_report(session, TEAM, NOW, weeks=WEEKS)[0].competitions
    assert lift.vs_ordinary.enough_data and lift.vs_ordinary.ratio_interval is not None


# -- hand-built: follow-up and leaders -----------------------------------------------------------


def test_what_followed_in_the_fourteen_days_after(session: Session) -> None:
    """Four weeks to Tue 24 Nov (now: Wed 25 Nov): days 0 (Mon 26 Oct) … 29 (Tue 24 Nov).
    A day's window is the 14 local days after it; only days up to 15 (Tue 10 Nov) have a whole one.

    Meetings (team totals per local day): day 2 (Wed 28 Oct) 4, day 7 (Mon 2 Nov) 2,
    day 13 (Sun 8 Nov, a weekend day still counts in a window) 1, day 18 (Fri 13 Nov) 3,
    the last logged at 23:30 local (04:30 UTC Saturday): it must count on Friday.

    Connect Days with a whole window: day 3 (Thu 29 Oct): days 4–17 → 2 + 1 = 3;
    day 10 (Thu 5 Nov): days 11–24 → 1 + 3 = 4. Mean 3.5 over 2 days.
    Ordinary working days with a whole window, and their windows:
      0: 1–14 → 4+2+1 = 7    1: 2–15 → 7    2: 3–16 → 3    4: 5–18 → 2+1+3 = 6
      7: 8–21 → 1+3 = 4      8: 9–22 → 4    9: 10–23 → 4   11: 12–25 → 4
      14: 15–28 → 3          15: 16–29 → 3
    Sum 45 over 10 days: mean 4.5. (Day 4 would be 3 if the 23:30 log slipped to Saturday.)
    """
    region = make_region(session)
    (rep,) = add_people(session, region, "rep", 1, "REP")
    connect_day = competition(session, "Connect Day", 3, "connect")
    thursdays = [date(2026, 10, 29), date(2026, 11, 5), date(2026, 11, 12), date(2026, 11, 19)]
    ran_on(session, connect_day, region, thursdays)
    store_logs(
        session,
        [
            Log(rep, "call", 1, local(date(2026, 10, 26), 9)),  # the rep's first day …
            Log(rep, "call", 1, local(date(2026, 11, 24), 9)),  # … and last
            Log(rep, "meeting", 4, local(date(2026, 10, 28), 11)),
            Log(rep, "meeting", 2, local(date(2026, 11, 2), 10)),
            Log(rep, "meeting", 1, local(date(2026, 11, 8), 12)),
            Log(rep, "meeting", 3, local(date(2026, 11, 13), 23, 30)),
        ],
    )
    now = local(date(2026, 11, 25), 12)
    (lift,) = region_lift(session, region, now, weeks=4).competitions
    meetings = next(f.comparison for f in lift.follow_ups if f.activity_type == "meeting")
    assert (meetings.days_with, meetings.days_without) == (2, 10)
    assert (meetings.mean_with, meetings.mean_without) == (3.5, 4.5)
    assert not meetings.enough_data and meetings.ratio_interval is None
    qbms = next(f.comparison for f in lift.follow_ups if f.activity_type == "qbm")
    assert (qbms.mean_with, qbms.mean_without) == (0.0, 0.0) and qbms.ratio is None


def test_the_leaders_effect_counts_reps_connects_per_rep_on_led_days(session: Session) -> None:
    """One week, Mon 16 – Sun 22 Nov (now: Mon 23 Nov); Thu 19 Nov is a holiday.

    Leader hours: Mon 1 h (led), Tue 0.5 h (not: under an hour), Wed 0.5 + 0.5 h (led: one
    hour in all). Reps' connects (two reps at work all week): Mon 4 + 2 → 3 per rep,
    Tue 1 → 0.5, Wed 3 + 3 → 3, Thu (holiday: not a working day) 2, Fri 0.
    Led days: Mon, Wed → (3 + 3) / 2 = 3.0. Other working days: Tue, Fri → (0.5 + 0) / 2 = 0.25.
    The leader's own 5 connects on Wednesday are not the team's.
    """
    region = make_region(session)
    ana, ben = add_people(session, region, "rep", 2, "REP")
    (lea,) = add_people(session, region, "leader", 1, "LEAD")
    add_holiday(session, TEAM, date(2026, 11, 19), "Thanksgiving", actor="test")
    day = {name: date(2026, 11, 16) + timedelta(days=n) for n, name in enumerate(("mon", "tue", "wed", "thu", "fri"))}
    store_logs(
        session,
        [
            *(Log(person, "call", 1, local(day["mon"], 8)) for person in (ana, ben)),
            *(Log(person, "call", 1, local(day["fri"], 17)) for person in (ana, ben)),
            Log(lea, "hour", 1, local(day["mon"], 9)),
            Log(lea, "hour", 0.5, local(day["tue"], 9)),
            Log(lea, "hour", 0.5, local(day["wed"], 9)),
            Log(lea, "hour", 0.5, local(day["wed"], 15)),
            Log(lea, "connect", 5, local(day["wed"], 16)),
            Log(ana, "connect", 4, local(day["mon"], 10)),
            Log(ben, "connect", 2, local(day["mon"], 11)),
            Log(ana, "connect", 1, local(day["tue"], 10)),
            Log(ana, "connect", 3, local(day["wed"], 10)),
            Log(ben, "connect", 3, local(day["wed"], 23, 30)),  # still Wednesday in New York
            Log(ben, "connect", 2, local(day["thu"], 10)),
        ],
    )
    report = region_lift(session, region, local(date(2026, 11, 23), 12), weeks=1)
    effect = report.leaders_effect
    assert (report.reps, report.leaders) == (2, 1)
    assert (effect.days_with, effect.days_without) == (2, 2)
    assert (effect.mean_with, effect.mean_without) == (3.0, 0.25)
    assert not effect.enough_data
    assert leaders_headline(report) == (
        "Leaders' effect: not enough data yet (2 days a leader prospected and 2 days none did so far; "
        "8 of each needed)."
    )


def test_a_region_without_leaders_says_so(session: Session) -> None:
    region = make_region(session)
    (rep,) = add_people(session, region, "rep", 1, "REP")
    store_logs(session, [Log(rep, "connect", 1, local(date(2026, 11, 16), 10))])
    report = region_lift(session, region, NOW)
    assert report.leaders == 0 and report.competitions == []
    assert leaders_headline(report) == "Leaders: nobody in this region has the leader role."


def test_local_days_across_daylight_saving_changes(session: Session) -> None:
    """Logs at 23:30 and 00:30 local around New York's fall-back night (Sun 1 Nov 2026, 25
    hours long) and London's spring-forward night (Sun 29 Mar 2026, 23 hours) count on their
    local day, never on the UTC one."""
    new_york = make_region(session)
    london = make_region(session, "EMEA", "Europe/London")
    (nat,) = add_people(session, new_york, "rep", 1, "NY")
    (lou,) = add_people(session, london, "rep", 1, "LON")
    london_zone = ZoneInfo("Europe/London")
    store_logs(
        session,
        [
            Log(nat, "connect", 1, local(date(2026, 10, 31), 23, 30)),  # Sat, EDT: 03:30 UTC Sunday
            Log(nat, "connect", 2, local(date(2026, 11, 1), 1, 30, fold=1)),  # Sun, second 01:30 (EST)
            Log(nat, "connect", 4, local(date(2026, 11, 1), 23, 30)),  # Sun, EST: 04:30 UTC Monday
            Log(nat, "connect", 8, local(date(2026, 11, 2), 0, 30)),  # Mon
            Log(lou, "connect", 1, local(date(2026, 3, 28), 23, 30, london_zone)),  # Sat, GMT
            Log(lou, "connect", 2, local(date(2026, 3, 29), 0, 30, london_zone)),  # Sun, GMT: before the change
            Log(lou, "connect", 4, local(date(2026, 3, 29), 23, 30, london_zone)),  # Sun, BST: 22:30 UTC
            Log(lou, "connect", 8, local(date(2026, 3, 30), 0, 30, london_zone)),  # Mon, BST: 23:30 UTC Sunday
        ],
    )
    for region, first, zone in ((new_york, date(2026, 10, 26), NEW_YORK), (london, date(2026, 3, 23), london_zone)):
        period = Period(first, first + timedelta(days=13), zone)
        data = load_region_days(session, region, period, {"connect"}, [])
        by_day = {period.days[day]: data.total("connect", day) for day in data.histograms["connect"]}
        saturday = first + timedelta(days=5)
        assert by_day == {
            saturday: 1.0,
            saturday + timedelta(days=1): 6.0,
            saturday + timedelta(days=2): 8.0,
        }, region.name
        # The rep's days run from their first log to their last, in local days.
        assert data.rep_spans == [(5, 7)]


def test_every_region_at_once_equals_each_region_alone(session: Session) -> None:
    """The all-regions report runs its arithmetic on worker threads: same figures as one by one."""
    amer = seeded(session, competition_rate=6.0, seed=4)
    emea = make_region(session, "EMEA", "Europe/London")
    reps = add_people(session, emea, "rep", 5, "EMEA")
    seed_connects(session, reps, FIRST_DAY, LAST_DAY, set(), ordinary_rate=3.0, competition_rate=3.0, seed=5)
    together = lift_report(session, TEAM, NOW, weeks=WEEKS, weekly=True)
    alone = [region_lift(session, region, NOW, weeks=WEEKS, weekly=True) for region in (amer, emea)]
    assert [r.region_name for r in together] == ["AMER", "EMEA"]
    assert together == alone


def test_voided_and_undone_logs_are_no_days_at_work(session: Session) -> None:
    """A rep's days run from their first to their last counted log: a voided or undone one
    says nothing about when they were at work (Mon 2 – Sun 15 Nov 2026, day 0 a Monday)."""
    region = make_region(session)
    kim, lee, max_ = add_people(session, region, "rep", 3, "REP")
    voided = {(kim.id, local(date(2026, 11, 10), 10)), (lee.id, local(date(2026, 11, 5), 10))}
    undone = {(max_.id, local(date(2026, 11, 4), 10))}
    store_logs(
        session,
        [
            Log(kim, "call", 1, local(date(2026, 11, 3), 10)),  # day 1
            Log(kim, "connect", 3, local(date(2026, 11, 10), 10)),  # day 8: voided
            Log(lee, "connect", 2, local(date(2026, 11, 5), 10)),  # day 3, Lee's only log: voided
            Log(max_, "call", 1, local(date(2026, 11, 4), 10)),  # day 2: undone
            Log(max_, "call", 1, local(date(2026, 11, 6), 10)),  # day 4
        ],
    )
    for rows, columns in ((voided, {"deleted_at": NOW, "voided_at": NOW}), (undone, {"deleted_at": NOW})):
        for member_id, at in rows:
            session.execute(
                update(Activity).where(Activity.member_id == member_id, Activity.occurred_at == at).values(**columns)
            )
    period = Period(date(2026, 11, 2), date(2026, 11, 15), NEW_YORK)
    data = load_region_days(session, region, period, {"connect"}, [])
    assert data.rep_spans == [(1, 1), (4, 4)]  # Kim on day 1 only, Lee never, Max on day 4
    assert [data.active_reps(day) for day in range(6)] == [0, 1, 0, 0, 1, 0]
    assert data.histograms == {}  # and no connect counts
    assert region_lift(session, region, NOW, weeks=4).reps == 2  # from Mon 26 Oct


def test_a_week_with_a_single_rep_day_on_one_side_still_gets_its_interval(session: Session) -> None:
    """One rep, one Connect Day a week: that week's competition side is one rep-day. Its
    resamples are all that one value, the ordinary side's vary: an interval, not an error."""
    region = make_region(session)
    (rep,) = add_people(session, region, "rep", 1, "REP")
    connect_day = competition(session, "Connect Day", 3, "connect")
    ran_on(session, connect_day, region, weekdays_back(LAST_DAY, 3, 2))
    seed_connects(session, [rep], date(2026, 11, 16), LAST_DAY, set(), ordinary_rate=4.0, competition_rate=4.0, seed=6)
    week = region_lift(session, region, NOW, weeks=1, weekly=True).competitions[0].weeks[0]
    assert week.monday == date(2026, 11, 16) and week.comparison is not None
    assert (week.comparison.samples_with, week.comparison.samples_without) == (1, 4)
    interval, difference = week.comparison.difference_interval, week.comparison.difference
    assert interval is not None and interval.low is not None and interval.high is not None and difference is not None
    assert interval.low <= difference <= interval.high


def test_the_figures_dont_depend_on_the_order_the_database_returns_rows_in(session: Session) -> None:
    """PostgreSQL's hash aggregates return groups in no set order, and a plan can change from
    one run to the next (a prepared statement's generic plan): the same data must give the
    same intervals whatever order each day's per-rep totals come back in."""
    region = seeded(session, competition_rate=6.0, seed=7)
    period = lift_period(NOW, NEW_YORK, WEEKS)
    contests = region_competitions(session, region, period)
    data = load_region_days(session, region, period, {c.metric for c in contests}, contests)
    assert any(len(totals) > 1 for days in data.histograms.values() for totals in days.values())
    reordered = replace(
        data,
        histograms={
            kind: {day: dict(reversed(totals.items())) for day, totals in days.items()}
            for kind, days in data.histograms.items()
        },
    )
    calendar = work_calendar(session, TEAM)
    assert _assemble(reordered, calendar, WEEKS, True) == _assemble(data, calendar, WEEKS, True)
