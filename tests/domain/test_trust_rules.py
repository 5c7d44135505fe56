"""The flag rules on plain facts: each at its threshold and one below it, time zones and DST
for the usual-hours rule, and the settings' parsing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy
import pytest

from bot.domain.errors import Conflict
from bot.domain.trust_baselines import Distribution, distribution, history_midnights, percentile
from bot.domain.trust_rules import (
    RULE_BIG_LOG,
    RULE_DAY_TOTAL,
    RULE_HOURS,
    LogFacts,
    big_log_flag,
    burst_flag,
    day_total_flag,
    hours_flag,
    might_be_big,
)
from bot.domain.trust_settings import DEFAULTS, normalise_value, settings_from

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def facts(**changes: object) -> LogFacts:
    base = LogFacts(
        activity_id=41,
        team_id="T1",
        member_id=7,
        region_id=3,
        region_name="AMER",
        tz="America/New_York",
        type="connect",
        quantity=1.0,
        occurred_at=AT,
        day_total=1.0,
        source="slash",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- usual hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "flagged"),
    [
        (datetime(2026, 11, 24, 10, 59, tzinfo=UTC), True),  # 05:59 EST
        (datetime(2026, 11, 24, 11, 0, tzinfo=UTC), False),  # 06:00 EST: the first usual minute
        (datetime(2026, 11, 25, 2, 59, tzinfo=UTC), False),  # 21:59 EST
        (datetime(2026, 11, 25, 3, 0, tzinfo=UTC), True),  # 22:00 EST: the first unusual one
    ],
)
def test_hours_at_both_edges_of_the_usual_span(utc: datetime, flagged: bool) -> None:
    draft = hours_flag(facts(occurred_at=utc), DEFAULTS)
    assert (draft is not None) == flagged
    if draft is not None:
        assert draft.rule == RULE_HOURS and draft.activity_id == 41
        assert "outside 06:00–22:00" in draft.summary and "America/New_York" in draft.summary


def test_hours_follow_the_region_across_the_spring_dst_change() -> None:
    # 10:30 UTC is 05:30 EST on Saturday 7 March 2026, and 06:30 EDT on Sunday 8 March.
    before = datetime(2026, 3, 7, 10, 30, tzinfo=UTC)
    after = datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert hours_flag(facts(occurred_at=before), DEFAULTS) is not None
    assert hours_flag(facts(occurred_at=after), DEFAULTS) is None
    # On the change day itself the edge is 06:00 EDT = 10:00 UTC, an hour earlier than the day before.
    assert hours_flag(facts(occurred_at=datetime(2026, 3, 8, 9, 59, tzinfo=UTC)), DEFAULTS) is not None
    assert hours_flag(facts(occurred_at=datetime(2026, 3, 8, 10, 0, tzinfo=UTC)), DEFAULTS) is None


def test_hours_follow_the_region_across_the_autumn_dst_change_in_london() -> None:
    london = {"tz": "Europe/London", "region_name": "EMEA"}
    # 21:30 UTC is 22:30 BST on Saturday 24 October 2026 and 21:30 GMT on Sunday 25 October.
    assert hours_flag(facts(occurred_at=datetime(2026, 10, 24, 21, 30, tzinfo=UTC), **london), DEFAULTS) is not None
    assert hours_flag(facts(occurred_at=datetime(2026, 10, 25, 21, 30, tzinfo=UTC), **london), DEFAULTS) is None
    draft = hours_flag(facts(occurred_at=datetime(2026, 10, 24, 21, 30, tzinfo=UTC), **london), DEFAULTS)
    assert draft is not None and draft.figures["local_time"] == "22:30"


def test_hours_rule_off_never_flags_and_no_region_means_no_local_hours() -> None:
    at_three_am = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert hours_flag(facts(occurred_at=at_three_am), replace(DEFAULTS, hours=None)) is None
    assert hours_flag(facts(occurred_at=at_three_am, tz=None, region_id=None), DEFAULTS) is None
    late_span = settings_from({"hours": "07:30-24:00"})
    assert late_span.hours == (time(7, 30), time.max)
    assert hours_flag(facts(occurred_at=datetime(2026, 11, 25, 4, 59, tzinfo=UTC)), late_span) is None  # 23:59


def test_the_asia_region_at_the_new_york_afternoon_is_flagged_in_its_own_night() -> None:
    draft = hours_flag(facts(tz="Asia/Singapore", region_name="APAC"), DEFAULTS)  # 15:00 UTC = 23:00 SGT
    assert draft is not None and draft.figures == {
        "local_time": "23:00",
        "start": "06:00",
        "end": "22:00",
        "tz": "Asia/Singapore",
    }


# --- one big log --------------------------------------------------------------------------------


def own_days(days: int, p95: float) -> Distribution:
    return Distribution(days, {95.0: p95})


def test_big_log_above_three_times_the_members_95th_percentile_day() -> None:
    own = own_days(23, 3.0)  # 3 × 3 = 9
    flagged = big_log_flag(facts(quantity=10), DEFAULTS, own, None)
    assert flagged is not None and flagged.rule == RULE_BIG_LOG
    assert flagged.summary == ("10 connects in one log; 3× this member's 95th-percentile day is 9 (8 weeks, 23 days)")
    assert flagged.figures["baseline"] == "member" and flagged.figures["threshold"] == 9.0
    assert big_log_flag(facts(quantity=9), DEFAULTS, own, None) is None  # at the threshold: not above it


def test_big_log_uses_the_regions_days_when_the_member_has_fewer_than_ten() -> None:
    region = Distribution(412, {95.0: 4.0, 99.0: 7.0})  # 3 × 4 = 12
    nine_days = own_days(9, 1.0)  # too few: 3 × 1 would flag 4
    assert big_log_flag(facts(quantity=12), DEFAULTS, nine_days, region) is None
    flagged = big_log_flag(facts(quantity=13), DEFAULTS, nine_days, region)
    assert flagged is not None and flagged.figures["baseline"] == "region"
    assert "AMER's 95th-percentile day is 12 (8 weeks, 412 member-days)" in flagged.summary
    # Ten days of their own: theirs counts, at its own threshold.
    assert big_log_flag(facts(quantity=4), DEFAULTS, own_days(10, 1.0), region) is not None
    assert big_log_flag(facts(quantity=3), DEFAULTS, own_days(10, 1.0), region) is None


def test_big_log_needs_something_usual_to_compare_with() -> None:
    assert big_log_flag(facts(quantity=500), DEFAULTS, own_days(3, 1.0), Distribution(9, {95.0: 1.0})) is None
    assert big_log_flag(facts(quantity=500), replace(DEFAULTS, big_log_multiple=None), own_days(30, 1.0), None) is None


def test_small_logs_skip_the_baseline_read_exactly_where_no_baseline_could_flag_them() -> None:
    assert not might_be_big(facts(quantity=1), DEFAULTS)
    assert not might_be_big(facts(quantity=3), DEFAULTS)  # a day is >= 1 connect, so 3× is >= 3
    assert might_be_big(facts(quantity=4), DEFAULTS)
    assert not might_be_big(facts(type="hour", quantity=1.5), DEFAULTS)  # a day is >= 0.5 h
    assert might_be_big(facts(type="hour", quantity=2), DEFAULTS)
    # The shortcut never hides a flag: the smallest possible baseline gives the same answers.
    for quantity in (1, 2, 3, 4, 5):
        smallest = big_log_flag(facts(quantity=quantity), DEFAULTS, own_days(30, 1.0), None)
        assert (smallest is not None) == might_be_big(facts(quantity=quantity), DEFAULTS)


# --- a big day ------------------------------------------------------------------------------------


def test_day_total_above_the_regions_99th_percentile_day() -> None:
    region = Distribution(412, {95.0: 9.0, 99.0: 20.0})
    assert day_total_flag(facts(day_total=20), DEFAULTS, region) is None
    flagged = day_total_flag(facts(day_total=21), DEFAULTS, region)
    assert flagged is not None and flagged.rule == RULE_DAY_TOTAL and flagged.activity_id is None
    assert flagged.summary == "21 connects in the day; AMER's 99th-percentile day is 20 (8 weeks, 412 member-days)"
    # The member's local day, midnight to midnight in New York.
    assert (flagged.span_start, flagged.span_end) == (
        datetime(2026, 11, 24, 5, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 5, 0, tzinfo=UTC),
    )
    assert flagged.dedupe_key == "day-total:m7:2026-11-24:connect"
    assert day_total_flag(facts(day_total=21), DEFAULTS, Distribution(9, {95.0: 1.0, 99.0: 1.0})) is None


# --- a burst ----------------------------------------------------------------------------------------


def test_burst_of_ten_logs_within_sixty_seconds() -> None:
    first = AT - timedelta(seconds=42)
    assert burst_flag(facts(), DEFAULTS, 9, first, 30) is None
    flagged = burst_flag(facts(), DEFAULTS, 10, first, 30)
    assert flagged is not None
    assert flagged.summary == "10 logs within 42 s (09:59:18–10:00:00 America/New_York); the rule is 10 within 60 s"
    assert (flagged.span_start, flagged.dedupe_key, flagged.figures["typed_only"]) == (first, "burst:m7:a30", True)
    assert burst_flag(facts(), replace(DEFAULTS, burst_logs=None), 50, first, 30) is None


# --- baselines and settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [50.0, 95.0, 99.0])
def test_percentile_interpolates_like_numpy(p: float) -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    assert percentile(values, p) == pytest.approx(float(numpy.percentile(values, p)))


def test_a_distribution_reads_only_days_with_activity() -> None:
    found = distribution([0.0, 2.0, 4.0, 0.0], (50.0,))
    assert (found.days, found.at(50.0)) == (2, 3.0)
    assert distribution([], (95.0,)).days == 0


def test_history_days_are_local_days_23_or_25_hours_long_across_dst() -> None:
    midnights = history_midnights(date(2026, 3, 10), ZoneInfo("America/New_York"), weeks=1)
    lengths = [(b - a).total_seconds() / 3600 for a, b in pairwise(midnights)]
    assert len(lengths) == 7 and lengths.count(23.0) == 1 and lengths.count(24.0) == 6
    assert midnights[-1] == datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # EDT midnight


def test_settings_parse_and_refuse_with_the_range() -> None:
    assert normalise_value("BIG-LOG", " 4 ") == ("big-log", "4")
    assert normalise_value("hours", "07:00 - 21:30") == ("hours", "07:00-21:30")
    assert normalise_value("burst", "off") == ("burst", "off")
    assert normalise_value("burst", "default") == ("burst", "10")
    for key, value, problem in (
        ("big-log", "0.5", "from 1 to 100"),
        ("burst", "2.5", "whole number"),
        ("hours", "22:00-06:00", "ends before it starts"),
        ("history-weeks", "off", "can't be off"),
        ("nonsense", "1", "isn't a trust setting"),
    ):
        with pytest.raises(Conflict, match=problem):
            normalise_value(key, value)
    parsed = settings_from({"big-log": "off", "burst": "12", "late-surge": "0.6", "hours": "garbage"})
    assert (parsed.big_log_multiple, parsed.burst_logs, parsed.late_surge_share) == (None, 12, 0.6)
    assert parsed.hours == DEFAULTS.hours  # a value that no longer parses falls back to the default
    assert settings_from({"big-log": "off", "burst": "off", "hours": "off", "day-total": "off"}).any_log_rule is False


def test_a_log_is_handed_on_for_a_check_only_when_it_could_trip_a_rule() -> None:
    from bot.domain.trust_checks import worth_checking

    usual = Distribution(412, {95.0: 4.0, 99.0: 20.0})
    assert not worth_checking(facts(), DEFAULTS, 1, usual)  # a daytime `/pg 1 connect`
    assert worth_checking(facts(), DEFAULTS, 1, None)  # the region's day not known here yet
    assert worth_checking(facts(occurred_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC)), DEFAULTS, 1, usual)  # 05:00
    assert not worth_checking(facts(), DEFAULTS, 9, usual) and worth_checking(facts(), DEFAULTS, 10, usual)
    # A workspace's longer burst window than the log counted: only the check can tell.
    assert worth_checking(facts(), replace(DEFAULTS, burst_seconds=120), 1, usual)
    assert worth_checking(facts(quantity=4), DEFAULTS, 1, usual)  # could be 3× someone's day
    assert not worth_checking(facts(day_total=20), DEFAULTS, 1, usual)
    assert worth_checking(facts(day_total=21), DEFAULTS, 1, usual)
    already = "day-total:m7:2026-11-24:connect"  # this member's big day, flagged before
    assert not worth_checking(facts(day_total=22), DEFAULTS, 1, usual, raised=lambda key: key == already)
    assert not worth_checking(facts(day_total=21), replace(DEFAULTS, day_total_percentile=None), 1, None)
