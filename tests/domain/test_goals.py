from __future__ import annotations

import pytest

from bot.domain.goals import (
    DEFAULT_GOALS,
    GoalProgress,
    RampPolicy,
    RampState,
    apply_ramp,
    attainment,
    next_ramp,
    progress,
    progress_bar,
    resolve_goals,
)

HIT = 1.0
MISS = 0.8


def run_weeks(policy: RampPolicy, attainments: list[float | None]) -> list[tuple[RampState, bool]]:
    """Feed one attainment per week; return (state after the week, changed?)."""
    state = policy.initial_state()
    history = []
    for week_attainment in attainments:
        state, change = next_ramp(policy, state, week_attainment)
        history.append((state, change is not None))
    return history


# --- defaults and resolve_goals -------------------------------------------


def test_ae_defaults_match_the_spec_playbook() -> None:
    assert DEFAULT_GOALS["ae"] == {
        "account": 10,
        "meeting": 5,
        "referral": 5,
        "email": 100,
        "call": 20,
    }


def test_sdr_defaults_are_heavier_at_the_top_of_the_funnel() -> None:
    sdr, ae = DEFAULT_GOALS["sdr"], DEFAULT_GOALS["ae"]
    assert sdr["call"] > ae["call"]
    assert sdr["email"] > ae["email"]
    assert sdr["account"] > ae["account"]
    assert sdr["connect"] > 0


def test_resolve_without_overrides_is_the_job_default() -> None:
    assert resolve_goals("ae", {}, {}) == DEFAULT_GOALS["ae"]


def test_resolve_returns_a_copy_that_does_not_alias_defaults() -> None:
    goals = resolve_goals("sdr", {}, {})
    goals["call"] = 1
    assert DEFAULT_GOALS["sdr"]["call"] == 60


def test_member_beats_region_beats_default() -> None:
    goals = resolve_goals("ae", {"call": 30, "email": 80}, {"call": 40})
    assert goals["call"] == 40  # member
    assert goals["email"] == 80  # region
    assert goals["meeting"] == 5  # job default


def test_zero_override_removes_the_goal_at_either_level() -> None:
    goals = resolve_goals("ae", {"referral": 0}, {"email": 0})
    assert "referral" not in goals
    assert "email" not in goals
    assert goals["call"] == 20


def test_member_override_can_restore_a_goal_the_region_removed() -> None:
    goals = resolve_goals("ae", {"call": 0}, {"call": 15})
    assert goals["call"] == 15


def test_member_zero_removes_a_region_added_goal() -> None:
    goals = resolve_goals("ae", {"qbm": 2}, {"qbm": 0})
    assert "qbm" not in goals


def test_overrides_can_add_types_without_a_default() -> None:
    goals = resolve_goals("sdr", {"qbm": 2}, {"hour": 4.5})
    assert goals["qbm"] == 2
    assert goals["hour"] == 4.5


def test_resolve_rejects_unknown_job_and_negative_overrides() -> None:
    with pytest.raises(ValueError, match="unknown job"):
        resolve_goals("cro", {}, {})
    with pytest.raises(ValueError, match="negative"):
        resolve_goals("ae", {"call": -1}, {})
    with pytest.raises(ValueError, match="negative"):
        resolve_goals("ae", {}, {"email": -5})


# --- progress and attainment -----------------------------------------------


def test_progress_keeps_raw_and_capped_fractions() -> None:
    items = progress({"call": 20, "email": 100}, {"call": 30, "email": 25})
    assert items == [
        GoalProgress(activity_type="call", target=20, done=30, fraction=1.5),
        GoalProgress(activity_type="email", target=100, done=25, fraction=0.25),
    ]
    assert items[0].capped_fraction == 1.0
    assert items[0].met
    assert items[1].capped_fraction == 0.25
    assert not items[1].met


def test_progress_counts_missing_totals_as_zero_and_ignores_extra_totals() -> None:
    items = progress({"meeting": 5}, {"call": 99})
    assert [(p.activity_type, p.done, p.fraction) for p in items] == [("meeting", 0, 0.0)]


def test_progress_rejects_non_positive_targets() -> None:
    with pytest.raises(ValueError, match="positive"):
        progress({"call": 0}, {})


def test_attainment_is_the_mean_of_capped_fractions() -> None:
    goals = {"call": 20, "email": 100, "meeting": 5}
    totals = {"call": 40, "email": 50, "meeting": 0}
    # capped: 1.0, 0.5, 0.0 -> mean 0.5; the 200 % on calls does not compensate.
    assert attainment(goals, totals) == pytest.approx(0.5)


def test_attainment_is_one_only_when_every_goal_is_met() -> None:
    goals = {"call": 20, "meeting": 5}
    assert attainment(goals, {"call": 20, "meeting": 5}) == 1.0
    assert attainment(goals, {"call": 100, "meeting": 4}) == pytest.approx(0.9)


def test_attainment_without_goals_is_none() -> None:
    assert attainment({}, {"call": 10}) is None


# --- progress_bar -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, "░░░░░░░░░░ 0%"),
        (0.5, "▓▓▓▓▓░░░░░ 50%"),
        (1.0, "▓▓▓▓▓▓▓▓▓▓ 100%"),
        (1.5, "▓▓▓▓▓▓▓▓▓▓ 150%"),
        (0.999, "▓▓▓▓▓▓▓▓▓░ 99%"),  # never looks done before it is
        (0.7, "▓▓▓▓▓▓▓░░░ 70%"),
        (0.57, "▓▓▓▓▓░░░░░ 57%"),  # 0.57 * 100 is 56.99…; must still say 57%
        (0.29, "▓▓░░░░░░░░ 29%"),  # 0.29 * 100 is 28.999…; must still say 29%
    ],
)
def test_progress_bar_rendering(fraction: float, expected: str) -> None:
    assert progress_bar(fraction) == expected


def test_progress_bar_custom_width() -> None:
    assert progress_bar(0.25, width=4) == "▓░░░ 25%"
    assert progress_bar(0.5, width=1) == "░ 50%"


def test_progress_bar_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        progress_bar(-0.1)
    with pytest.raises(ValueError):
        progress_bar(0.5, width=0)


# --- ramp ---------------------------------------------------------------------


def test_initial_state_starts_at_start_fraction() -> None:
    assert RampPolicy().initial_state() == RampState(fraction=0.6, streak_weeks=0)


def test_two_hit_weeks_step_up_once() -> None:
    history = run_weeks(RampPolicy(), [HIT, HIT])
    assert history[0] == (RampState(0.6, 1), False)
    assert history[1] == (RampState(0.7, 0), True)


def test_step_result_is_rounded_not_float_noise() -> None:
    # 0.7 + 0.1 is 0.7999999999999999 in floats.
    state, _ = next_ramp(RampPolicy(), RampState(0.7, 1), HIT)
    assert repr(state.fraction) == "0.8"


def test_a_miss_between_hits_prevents_the_step() -> None:
    history = run_weeks(RampPolicy(), [HIT, MISS, HIT])
    assert [state for state, _ in history] == [
        RampState(0.6, 1),
        RampState(0.6, 0),
        RampState(0.6, 1),
    ]
    assert not any(changed for _, changed in history)


def test_a_miss_resets_the_streak_but_never_lowers_the_fraction() -> None:
    history = run_weeks(RampPolicy(), [HIT, HIT, MISS, MISS])
    assert [state.fraction for state, _ in history] == [0.6, 0.7, 0.7, 0.7]


def test_full_ramp_stops_at_max_fraction() -> None:
    history = run_weeks(RampPolicy(), [HIT] * 12)
    fractions = [state.fraction for state, _ in history]
    assert fractions == [0.6, 0.7, 0.7, 0.8, 0.8, 0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0]
    changes = [changed for _, changed in history]
    # Four steps (0.6→0.7→0.8→0.9→1.0), nothing announced once at the top.
    assert sum(changes) == 4
    assert not any(changes[8:])


def test_step_is_clipped_to_max_fraction() -> None:
    policy = RampPolicy(start_fraction=0.6, step=0.25, max_fraction=0.8)
    history = run_weeks(policy, [HIT, HIT, HIT, HIT])
    assert [state.fraction for state, _ in history] == [0.6, 0.8, 0.8, 0.8]


def test_max_fraction_above_one_allows_stretch_goals() -> None:
    policy = RampPolicy(start_fraction=1.0, step=0.1, weeks_to_step=1, max_fraction=1.2)
    history = run_weeks(policy, [HIT, HIT, HIT])
    assert [state.fraction for state, _ in history] == [1.1, 1.2, 1.2]


def test_threshold_decides_what_counts_as_a_hit() -> None:
    policy = RampPolicy(team_hit_threshold=0.9, weeks_to_step=1)
    state, change = next_ramp(policy, policy.initial_state(), 0.9)
    assert state.fraction == 0.7
    assert change is not None
    state, change = next_ramp(policy, state, 0.89)
    assert state == RampState(0.7, 0)
    assert change is None


def test_no_goals_last_week_leaves_the_state_untouched() -> None:
    state = RampState(0.6, 1)
    assert next_ramp(RampPolicy(), state, None) == (state, None)
    # The streak survives a week without goals: the next hit completes it.
    new_state, change = next_ramp(RampPolicy(), state, HIT)
    assert new_state == RampState(0.7, 0)
    assert change is not None


def test_ramp_change_has_old_new_and_a_readable_reason() -> None:
    _, change = next_ramp(RampPolicy(), RampState(0.6, 1), 1.04)
    assert change is not None
    assert (change.old_fraction, change.new_fraction) == (0.6, 0.7)
    assert change.reason == (
        "The team hit its goals 2 weeks in a row (last week 104%), "
        "so weekly goals rise from 60% to 70% of the full targets."
    )


def test_reason_mentions_reaching_the_top_and_single_week_policies() -> None:
    policy = RampPolicy(weeks_to_step=1)
    _, change = next_ramp(policy, RampState(0.9, 0), 1.0)
    assert change is not None
    assert change.reason.startswith("The team hit its goals last week (100%)")
    assert change.reason.endswith("from 90% to 100% of the full targets — the top of the ramp.")


def test_lowered_max_fraction_brings_the_fraction_down() -> None:
    policy = RampPolicy(max_fraction=0.8)
    state, change = next_ramp(policy, RampState(1.0, 1), HIT)
    assert state == RampState(0.8, 0)
    assert change is not None
    assert (change.old_fraction, change.new_fraction) == (1.0, 0.8)
    assert "maximum was lowered" in change.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_fraction": 0},
        {"start_fraction": 1.1},  # above the default max_fraction of 1.0
        {"step": 0},
        {"weeks_to_step": 0},
        {"team_hit_threshold": 0},
        {"max_fraction": 0},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RampPolicy(**kwargs)


# --- apply_ramp ---------------------------------------------------------------


def test_apply_ramp_rounds_up_to_whole_numbers() -> None:
    goals = {"account": 10, "meeting": 5, "referral": 5, "email": 100, "call": 20}
    assert apply_ramp(goals, 0.6) == {
        "account": 6,
        "meeting": 3,
        "referral": 3,
        "email": 60,
        "call": 12,
    }
    assert apply_ramp({"meeting": 5, "account": 10}, 0.7) == {"meeting": 4, "account": 7}


def test_apply_ramp_ignores_float_noise_when_rounding_up() -> None:
    # 100 * 1.1 is 110.00000000000001 and 25 * 1.1 is 27.500000000000004.
    assert apply_ramp({"email": 100, "call": 25}, 1.1) == {"email": 110, "call": 28}
    assert apply_ramp({"hour": 25}, 1.1) == {"hour": 27.5}


def test_apply_ramp_rounds_hours_up_to_halves() -> None:
    assert apply_ramp({"hour": 4}, 0.6) == {"hour": 2.5}  # 2.4 -> 2.5
    assert apply_ramp({"hour": 5}, 0.7) == {"hour": 3.5}  # 3.5 stays
    assert apply_ramp({"hour": 6}, 0.7) == {"hour": 4.5}  # 4.2 -> 4.5


def test_apply_ramp_never_goes_below_one() -> None:
    assert apply_ramp({"deal": 1, "hour": 1}, 0.1) == {"deal": 1, "hour": 1}


def test_apply_ramp_above_one_scales_up() -> None:
    assert apply_ramp({"call": 20}, 1.2) == {"call": 24}


def test_apply_ramp_rejects_non_positive_fraction() -> None:
    with pytest.raises(ValueError):
        apply_ramp({"call": 20}, 0)
