"""`--tz` warns for a fixed offset where the region keeps daylight saving."""

from __future__ import annotations

import pytest

from bot.domain.time_zone_advice import fixed_offset_warning


@pytest.mark.parametrize(
    ("region", "zone", "meant"),
    [
        ("AMER", "EST", "America/New_York"),
        ("Team", "MST", "America/Denver"),
        ("EMEA", "UTC", "Europe/London"),
        ("West", "Etc/GMT+8", "America/Los_Angeles"),
        ("ANZ", "Etc/GMT-10", "Australia/Sydney"),
    ],
)
def test_a_fixed_offset_where_the_region_changes_its_clocks_warns(region: str, zone: str, meant: str) -> None:
    warning = fixed_offset_warning(region, zone, year=2026)
    assert warning is not None and "no daylight saving" in warning and f"Did you mean {meant}?" in warning


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("UTC", "UTC"),
        ("Global", "Etc/UTC"),
        ("Worldwide", "GMT"),
        ("AMER", "America/New_York"),
        ("APAC", "Asia/Tokyo"),  # a place without daylight saving is what it says
        ("Hawaii", "HST"),  # nor does Honolulu change its clocks
        ("Arizona", "MST"),
    ],
)
def test_zones_that_mean_what_they_say_draw_no_warning(region: str, zone: str) -> None:
    assert fixed_offset_warning(region, zone, year=2026) is None


def test_a_fixed_offset_for_a_region_that_names_no_place_says_why_it_matters() -> None:
    warning = fixed_offset_warning("Sales", "Etc/GMT-3", year=2026)
    assert warning is not None and "if Sales's clocks change" in warning and "Did you mean" not in warning
