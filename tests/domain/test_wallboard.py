"""Pure pieces of the wallboard: the countdown and the region's wall clock (daylight-saving
edges included), the wheel the page draws (the GIF's own stopping spot), the state's bytes and
tag, the page's embedded JSON and the `/pg tv` reply."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.blocks.tv import tv_link_reply
from bot.domain.tv_links import looks_like_token
from bot.domain.wallboard import countdown_seconds, countdown_text, local_clock, quantity_text
from bot.domain.wheel import WheelPrize, draw, landing_jitter, odds
from bot.render.wheel_gif import final_rotation, pointer_segment
from bot.tv import json_in_html
from bot.tv.cache import dress_for_page, state_bytes, state_etag


@pytest.mark.parametrize(
    ("now", "tz", "shown"),
    [
        # New York falls back at 02:00 EDT on 1 Nov 2026: 01:30 happens twice.
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "America/New_York", "01:30 EDT"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "America/New_York", "01:30 EST"),
        # ...and springs forward on 8 Mar 2026: 01:59 EST is followed by 03:00 EDT.
        (datetime(2026, 3, 8, 6, 59, tzinfo=UTC), "America/New_York", "01:59 EST"),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), "America/New_York", "03:00 EDT"),
        # London leaves BST on 25 Oct 2026.
        (datetime(2026, 10, 25, 0, 59, tzinfo=UTC), "Europe/London", "01:59 BST"),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "Europe/London", "01:00 GMT"),
        # Half-hour zones and the other side of the date line.
        (datetime(2026, 11, 26, 23, 45, tzinfo=UTC), "Asia/Kolkata", "05:15 IST"),
        (datetime(2026, 11, 26, 23, 45, tzinfo=UTC), "Pacific/Auckland", "12:45 NZDT"),
    ],
)
def test_the_corner_clock_shows_the_regions_wall_time(now: datetime, tz: str, shown: str) -> None:
    assert local_clock(now, tz) == shown


def test_the_countdown_rounds_up_and_stops_at_zero() -> None:
    end = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    assert countdown_seconds(datetime(2026, 11, 26, 22, 29, 59, 500_000, tzinfo=UTC), end) == 1
    assert countdown_seconds(end, end) == 0
    assert countdown_seconds(datetime(2026, 11, 26, 23, 0, tzinfo=UTC), end) == 0
    assert countdown_seconds(datetime(2026, 11, 26, 13, 0, tzinfo=UTC), end) == 9 * 3600 + 30 * 60
    assert [countdown_text(s) for s in (0, 59, 61, 3599, 3600, 7509)] == [
        "0:00",
        "0:59",
        "1:01",
        "59:59",
        "1:00:00",
        "2:05:09",
    ]


def test_ticker_counts_read_like_the_channel() -> None:
    assert [quantity_text(q, t) for q, t in ((2, "connect"), (1, "qbm"), (1.5, "hour"), (1200, "email"))] == [
        "2 connects",
        "1 QBM",
        "1.5 hours",
        "1,200 emails",
    ]


@pytest.mark.parametrize("seed", ["11" * 32, "a7" * 32, "0f" * 32])
def test_the_page_stops_the_wheel_where_the_gif_does(seed: str) -> None:
    prizes = [WheelPrize(1, "Boots", 1, None), WheelPrize(2, "Lunch", 3, None), WheelPrize(5, "Mug", 0.5, None)]
    context = "T1:42:U9"
    index = draw(prizes, seed, context)
    jitter = landing_jitter(prizes, seed, context)
    shares = [round(share, 6) for share in odds(prizes)]
    body = {
        "spin": {
            "segments": [{"name": p.name, "share": s} for p, s in zip(prizes, shares, strict=True)],
            "winner_index": index,
            "jitter": jitter,
        }
    }
    dressed = dress_for_page(body)["spin"]
    stop = dressed["stop_degrees"]
    assert 0 <= stop < 360 and pointer_segment(odds(prizes), stop) == index
    assert stop == pytest.approx(final_rotation(odds(prizes), index, turns=4.0, jitter=jitter) % 360, abs=1e-3)
    assert [s["colour"] for s in dressed["segments"]] == ["#e44c3c", "#348cdc", "#f4c430"]  # the GIF's colours
    assert dress_for_page({"phase": "week"}) == {"phase": "week"}


def test_the_same_state_is_the_same_bytes_and_tag() -> None:
    one = state_bytes({"b": [1, 2], "a": "Zoë"})
    other = state_bytes({"a": "Zoë", "b": [1, 2]})
    assert one == other == '{"a":"Zoë","b":[1,2]}'.encode()
    assert state_etag(one) == state_etag(other) != state_etag(state_bytes({"a": "Zoe", "b": [1, 2]}))


def test_no_name_can_close_the_pages_script_element() -> None:
    body = state_bytes({"name": "</script><script>alert(1)</script> & co"})
    embedded = json_in_html(body)
    assert "</script" not in embedded and "<" not in embedded and "&" not in embedded
    assert json.loads(embedded) == {"name": "</script><script>alert(1)</script> & co"}


def test_only_long_url_safe_tokens_are_looked_up() -> None:
    assert looks_like_token("a" * 43) and looks_like_token("A-_9" * 8)
    assert not looks_like_token("a" * 31) and not looks_like_token("a" * 42 + "/")
    assert not looks_like_token("a" * 42 + "é") and not looks_like_token("a" * 129)


def test_the_slack_reply_shows_the_url_or_the_path_and_how_to_turn_it_off() -> None:
    with_url = json.dumps(tv_link_reply("amer-tv", "AMER", "https://p.example.com/tv/abc", "/tv/abc"))
    assert "<https://p.example.com/tv/abc>" in with_url and "PIPEDAY_PUBLIC_URL" not in with_url
    assert "pipeday tv revoke amer-tv" in with_url and "Only you see this" in with_url
    without = json.dumps(tv_link_reply("amer-tv", "AMER", None, "/tv/abc"))
    assert "`/tv/abc`" in without and "PIPEDAY_PUBLIC_URL isn't set" in without
