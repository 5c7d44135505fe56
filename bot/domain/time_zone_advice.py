"""A warning for a region time zone that is a fixed offset where the region keeps daylight saving.

`EST` is a fixed UTC−05:00 all year; New York moves to UTC−04:00 in March. A region set to
`EST` would have its kickoff and last call an hour off local time for most of the year, which
nobody notices until it happens. So `pipeday region add/set --tz` warns (and still saves:
the admin may mean it) when the zone is an abbreviation or an `Etc/` offset with no daylight
saving and the place the region suggests has it. `UTC` for a region named "UTC" or "Global"
is what it says and draws no warning.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# Zone names that are an offset, not a place (tzdata's backward-compatible abbreviations).
_OFFSET_NAMES = frozenset(
    {"EST", "MST", "HST", "UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu", "Factory"}
)
# Region names that mean "no one place": UTC is the right zone for them.
_GLOBAL_REGION_NAMES = frozenset(
    {"utc", "gmt", "global", "worldwide", "world", "all", "everyone", "everywhere", "remote", "international", "intl"}
)
# What a region's name suggests, by a word in it (checked in this order).
_REGION_WORDS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"arizona", "phoenix"}), "America/Phoenix"),
    (frozenset({"hawaii", "honolulu"}), "Pacific/Honolulu"),
    (frozenset({"west", "western", "pacific", "sf", "la", "seattle", "pst", "pdt"}), "America/Los_Angeles"),
    (frozenset({"central", "chicago", "texas", "cst", "cdt"}), "America/Chicago"),
    (frozenset({"mountain", "denver", "mst", "mdt"}), "America/Denver"),
    (frozenset({"amer", "americas", "na", "us", "usa", "east", "eastern", "nyc", "est", "edt"}), "America/New_York"),
    (frozenset({"uk", "gb", "london", "ireland", "emea", "eu", "europe"}), "Europe/London"),
    (frozenset({"dach", "germany", "berlin", "paris", "france", "cet", "cest"}), "Europe/Berlin"),
    (frozenset({"anz", "apac", "australia", "au", "sydney", "melbourne"}), "Australia/Sydney"),
    (frozenset({"nz", "auckland"}), "Pacific/Auckland"),
)
# What a fixed zone is usually typed for, when the region's name says nothing.
_ZONE_PLACES = {
    "EST": "America/New_York",
    "MST": "America/Denver",
    "HST": "Pacific/Honolulu",
    "Etc/GMT+5": "America/New_York",
    "Etc/GMT+6": "America/Chicago",
    "Etc/GMT+7": "America/Denver",
    "Etc/GMT+8": "America/Los_Angeles",
    "Etc/GMT-1": "Europe/Berlin",
    "Etc/GMT-10": "Australia/Sydney",
}


def has_daylight_saving(zone: ZoneInfo, year: int) -> bool:
    """Whether the zone's offset from UTC changes during `year` (checked mid-winter and mid-summer)."""
    offsets = {datetime(year, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7)}
    return len(offsets) > 1


def is_offset_zone(tz: str) -> bool:
    """`EST`, `UTC`, `Etc/GMT+5`: a zone named after an offset rather than a place."""
    return tz in _OFFSET_NAMES or tz.startswith("Etc/")


def suggested_zone(region_name: str, tz: str) -> str | None:
    """The place zone the region's name (else the zone typed) points to, if any."""
    words = {word for word in "".join(c if c.isalnum() else " " for c in region_name.lower()).split()}
    for keys, place in _REGION_WORDS:
        if words & keys:
            return place
    return _ZONE_PLACES.get(tz)


def fixed_offset_warning(region_name: str, tz: str, *, year: int) -> str | None:
    """A warning when `tz` is a fixed offset but the region looks like it keeps daylight
    saving; None when the zone is fine. `tz` must be a valid zone name."""
    zone = ZoneInfo(tz)
    if not is_offset_zone(tz) or has_daylight_saving(zone, year):
        return None
    offset = datetime(year, 1, 15, 12, tzinfo=zone).utcoffset() or timedelta(0)
    if offset == timedelta(0) and region_name.strip().lower() in (_GLOBAL_REGION_NAMES | {tz.lower()}):
        return None
    suggestion = suggested_zone(region_name, tz)
    if suggestion is not None and not has_daylight_saving(ZoneInfo(suggestion), year):
        return None  # the place doesn't change its clocks either (Honolulu, Phoenix)
    fixed = f"{tz} is a fixed offset ({_format_offset(offset)}) with no daylight saving"
    if suggestion is None:
        return (
            f"{fixed}: if {region_name}'s clocks change, its posts would go out an hour off local time for "
            "part of the year. Use a city's zone (e.g. America/New_York) so clock changes are followed."
        )
    return (
        f"{fixed}, so {region_name}'s posts would go out an hour off local time for part of the year. "
        f"Did you mean {suggestion}?"
    )


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"
