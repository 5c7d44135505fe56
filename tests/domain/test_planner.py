from __future__ import annotations

import itertools

import pytest

from bot.domain.planner import (
    DEFAULT_RATES,
    FUNNEL,
    STAGE_PAIRS,
    Plan,
    RateEstimate,
    StageGap,
    measured_rates,
    plan,
    stage_totals_from_activity,
)


def measured(rate: float, sample: float = 100) -> RateEstimate:
    return RateEstimate(rate=rate, source="measured", sample=sample)


def all_rates(rate: float) -> dict[tuple[str, str], RateEstimate]:
    return {pair: measured(rate) for pair in STAGE_PAIRS}


def per_period(result: Plan) -> dict[str, int]:
    return {target.stage: target.per_period for target in result.stages}


def per_week(result: Plan) -> dict[str, int]:
    return {target.stage: target.per_week for target in result.stages}


# --- defaults -------------------------------------------------------------------


def test_default_rates_cover_every_adjacent_pair_and_are_probabilities() -> None:
    assert set(DEFAULT_RATES) == set(STAGE_PAIRS)
    assert tuple(itertools.pairwise(FUNNEL)) == STAGE_PAIRS
    assert STAGE_PAIRS[0] == ("outreach", "connect")
    assert STAGE_PAIRS[-1] == ("pov", "deal")
    assert all(0 < rate <= 1 for rate in DEFAULT_RATES.values())


# --- plan arithmetic ----------------------------------------------------------


def test_half_rates_double_at_every_stage() -> None:
    result = plan(5, "quarter", all_rates(0.5))
    # 5 deals -> 10 povs -> 20 opps -> 40 qbms -> 80 meetings -> 160 connects -> 320 outreach
    assert per_period(result) == {
        "outreach": 320,
        "connect": 160,
        "meeting": 80,
        "qbm": 40,
        "opp": 20,
        "pov": 10,
        "deal": 5,
    }
    assert [target.stage for target in result.stages] == list(FUNNEL)
    assert result.fallbacks == ()


def test_quarter_weekly_numbers_round_up_over_13_weeks() -> None:
    result = plan(5, "quarter", all_rates(0.5))
    assert result.weeks_in_period == 13
    # 320/13 = 24.6, 160/13 = 12.3, 80/13 = 6.2, 40/13 = 3.1, 20/13 = 1.5, 10/13, 5/13
    assert per_week(result) == {
        "outreach": 25,
        "connect": 13,
        "meeting": 7,
        "qbm": 4,
        "opp": 2,
        "pov": 1,
        "deal": 1,
    }


def test_month_uses_about_4_33_weeks() -> None:
    result = plan(2, "month", all_rates(0.5))
    assert result.weeks_in_period == pytest.approx(4.333, abs=0.001)
    assert per_period(result)["outreach"] == 128
    # 128/4.33 = 29.5, 64/4.33 = 14.8, 32/4.33 = 7.4, 16/4.33 = 3.7, 8/4.33 = 1.8
    assert per_week(result) == {
        "outreach": 30,
        "connect": 15,
        "meeting": 8,
        "qbm": 4,
        "opp": 2,
        "pov": 1,
        "deal": 1,
    }


def test_explicit_weeks_in_period_overrides_the_default() -> None:
    result = plan(5, "quarter", all_rates(0.5), weeks_in_period=12)
    assert result.weeks_in_period == 12
    assert per_week(result)["outreach"] == 27  # 320 / 12 = 26.7


def test_rounds_up_at_each_stage_not_just_at_the_end() -> None:
    rates = all_rates(0.5)
    rates[("pov", "deal")] = measured(0.3)
    result = plan(1, "quarter", rates)
    # 1 / 0.3 = 3.33 -> 4 povs; 4 / 0.5 = 8 opps. Rounding only at the end would say 7.
    assert per_period(result)["pov"] == 4
    assert per_period(result)["opp"] == 8


def test_float_noise_does_not_add_an_extra_activity() -> None:
    rates = all_rates(0.5)
    rates[("pov", "deal")] = measured(0.7)
    # 21 / 0.7 is 30.000000000000004 in floats; the plan needs 30 povs.
    assert per_period(plan(21, "quarter", rates))["pov"] == 30


def test_defaults_for_five_deals_a_quarter() -> None:
    result = plan(5)
    # 5 / 0.4 = 12.5 -> 13 povs -> 26 opps -> 52 qbms -> 104 meetings
    # -> 104 / 0.25 = 416 connects -> 416 / 0.08 = 5200 outreach.
    assert per_period(result) == {
        "outreach": 5200,
        "connect": 416,
        "meeting": 104,
        "qbm": 52,
        "opp": 26,
        "pov": 13,
        "deal": 5,
    }
    assert per_week(result)["outreach"] == 400
    assert result.fallbacks == STAGE_PAIRS
    assert result.period == "quarter"


def test_target_lookup_by_stage() -> None:
    result = plan(5, "quarter", all_rates(0.5))
    assert result.target("qbm").per_period == 40
    with pytest.raises(KeyError):
        result.target("hour")


# --- measured rates and fallbacks -------------------------------------------------


def test_measured_rates_use_data_where_the_sample_is_big_enough() -> None:
    totals = {
        "call": 600,
        "email": 1400,
        "connect": 100,
        "meeting": 30,
        "qbm": 12,
        "opp": 6,
        "pov": 3,
        "deal": 1,
    }
    rates = measured_rates(totals, min_sample=20)
    assert rates[("outreach", "connect")] == RateEstimate(0.05, "measured", 2000)
    assert rates[("connect", "meeting")] == RateEstimate(0.3, "measured", 100)
    assert rates[("meeting", "qbm")] == RateEstimate(0.4, "measured", 30)
    # 12 qbms, 6 opps, 3 povs are all below 20: defaults, and the note says why.
    for pair in [("qbm", "opp"), ("opp", "pov"), ("pov", "deal")]:
        assert rates[pair].source == "default"
        assert rates[pair].rate == DEFAULT_RATES[pair]
    assert rates[("qbm", "opp")].note == "only 12 qbm logged (need 20)"


def test_plan_lists_the_fallback_stages_from_thin_data() -> None:
    totals = {"call": 600, "email": 1400, "connect": 100, "meeting": 30, "qbm": 12}
    result = plan(5, "quarter", measured_rates(totals))
    assert result.fallbacks == (("qbm", "opp"), ("opp", "pov"), ("pov", "deal"))
    # Defaults below the qbm: 5 deals -> 13 povs -> 26 opps -> 52 qbms. Measured above it:
    # 52 / 0.4 = 130 meetings (defaults would say 104), 130 / 0.3 = 433.3 -> 434 connects,
    # 434 / 0.05 = 8680 outreach.
    assert per_period(result) == {
        "outreach": 8680,
        "connect": 434,
        "meeting": 130,
        "qbm": 52,
        "opp": 26,
        "pov": 13,
        "deal": 5,
    }


def test_zero_rate_falls_back_and_says_so() -> None:
    rates = measured_rates({"call": 50, "connect": 0})
    estimate = rates[("outreach", "connect")]
    assert estimate.source == "default"
    assert estimate.rate == 0.08
    assert estimate.note == "no connect logged after 50 outreach"


def test_rate_above_one_falls_back_and_says_so() -> None:
    rates = measured_rates({"call": 100, "connect": 25, "meeting": 40})
    estimate = rates[("connect", "meeting")]
    assert estimate.source == "default"
    assert estimate.note == "more meeting (40) than connect (25) logged"


def test_min_sample_boundary_is_inclusive() -> None:
    assert measured_rates({"connect": 20, "meeting": 5})[("connect", "meeting")].source == ("measured")
    assert measured_rates({"connect": 19, "meeting": 5})[("connect", "meeting")].source == ("default")


def test_empty_totals_fall_back_everywhere() -> None:
    rates = measured_rates({})
    assert all(estimate.source == "default" for estimate in rates.values())
    assert plan(3, "month", rates).fallbacks == STAGE_PAIRS


def test_missing_pairs_in_given_rates_use_defaults() -> None:
    result = plan(5, "quarter", {("pov", "deal"): measured(0.5)})
    assert ("pov", "deal") not in result.fallbacks
    assert len(result.fallbacks) == len(STAGE_PAIRS) - 1
    assert result.rates[("opp", "pov")].note == "no measured rate given"
    assert per_period(result)["pov"] == 10


def test_outreach_is_calls_plus_emails_or_given_directly() -> None:
    assert stage_totals_from_activity({"call": 3, "email": 4})["outreach"] == 7
    assert stage_totals_from_activity({"outreach": 9})["outreach"] == 9
    with pytest.raises(ValueError, match="not both"):
        stage_totals_from_activity({"outreach": 9, "call": 1})


# --- pace comparison ------------------------------------------------------------


def test_pace_comparison_per_stage() -> None:
    pace = {"call": 20, "email": 10, "connect": 13, "meeting": 5, "opp": 2.5, "pov": 1}
    result = plan(5, "quarter", all_rates(0.5), current_weekly_pace=pace)
    gaps = {gap.stage: gap for gap in result.gaps}
    # Needed per week: outreach 25, connect 13, meeting 7, qbm 4, opp 2, pov 1, deal 1.
    assert gaps["outreach"] == StageGap("outreach", 30, 25, 5, "ahead")
    assert gaps["connect"] == StageGap("connect", 13, 13, 0, "on pace")
    assert gaps["meeting"] == StageGap("meeting", 5, 7, -2, "behind")
    assert gaps["qbm"] == StageGap("qbm", 0, 4, -4, "behind")  # nothing logged counts as 0
    assert gaps["opp"].status == "ahead"
    assert gaps["opp"].difference == 0.5
    assert gaps["deal"].status == "behind"
    assert [gap.stage for gap in result.gaps] == list(FUNNEL)


def test_no_pace_means_no_gaps() -> None:
    assert plan(5, "quarter", all_rates(0.5)).gaps == ()


# --- invalid input ----------------------------------------------------------------


@pytest.mark.parametrize("deals", [0, -3])
def test_non_positive_deals_are_refused(deals: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        plan(deals)


@pytest.mark.parametrize("deals", [2.5, True, "5"])
def test_non_integer_deals_are_refused(deals: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        plan(deals)  # type: ignore[arg-type]


def test_invalid_period_weeks_and_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        plan(5, "year")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weeks_in_period"):
        plan(5, "quarter", weeks_in_period=0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        plan(5, "quarter", {("pov", "deal"): measured(0)})
    with pytest.raises(ValueError, match="unknown stage pairs"):
        plan(5, "quarter", {("call", "deal"): measured(0.5)})


def test_invalid_totals_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        measured_rates({"call": -1})
    with pytest.raises(ValueError, match="min_sample"):
        measured_rates({}, min_sample=0)
