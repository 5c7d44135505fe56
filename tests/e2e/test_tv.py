"""The wallboard over real HTTP: a link's life (made, shown, revoked), the state endpoint's
ETag/304, every phase of a Connect Day as signed Slack requests play it (live, last call, time
up, results, the spin), and that nothing private leaves the server."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, join_region, require_region, set_role
from bot.domain.prizes import add_prize
from bot.domain.secret_tokens import hash_token
from bot.domain.tv_links import create_link, revoke_link
from bot.render.wheel_gif import final_rotation, pointer_segment
from models import Member, Spin, TvLink
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.waiting import wait_until

# Thursday 26 Nov 2026 in New York (EST, UTC-5): Connect Day runs 08:00-17:30.
THURSDAY_7AM = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
THURSDAY_5_05PM = datetime(2026, 11, 26, 22, 5, tzinfo=UTC)
THURSDAY_5_31PM = datetime(2026, 11, 26, 22, 31, tzinfo=UTC)
# A log shows on the TV within the state's recheck (0.5 s) and one poll (2 s).
SHOWS_WITHIN_S = 3.0
TV_PATH = re.compile(r"/tv/[A-Za-z0-9_-]{32,}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def get(url: str, etag: str | None = None) -> Answer:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


@pytest.fixture
def floor(live_bot: LiveBot) -> LiveBot:
    """AMER runs Connect Day; ana and ben are reps, dana a leader, mgr the manager; eve is in EMEA."""
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM_ID, "EMEA", "Europe/London", "C_EMEA", actor="test")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        add_prize(session, TEAM_ID, "Cowboy boots", weight=1, stock=3, actor="test")
        add_prize(session, TEAM_ID, "Team lunch", weight=3, stock=None, actor="test")
        for user_id, name, region in (
            ("U_ANA", "Ana Lopez", "AMER"),
            ("U_BEN", "Ben Okafor", "AMER"),
            ("U_DANA", "Dana Whitfield", "AMER"),
            ("U_MGR", "Morgan Manager", "AMER"),
            ("U_EVE", "Eve Outsider", "EMEA"),
        ):
            join_region(session, TEAM_ID, user_id, name, region)
            live_bot.slack.users[user_id] = {"profile": {"display_name": name}}  # what users.info says
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
        set_role(session, TEAM_ID, "test", "U_DANA", "leader")
        session.execute(update(Member).values(email=Member.user_id + "@example.com"))
    live_bot.clock.set(THURSDAY_10AM)
    return live_bot


def new_link(bot: LiveBot, region: str = "AMER", name: str | None = None) -> str:
    with bot.session_factory.begin() as session:
        made = create_link(session, require_region(session, TEAM_ID, region), name=name, created_by="test")
    return f"{bot.base_url}{made.path}"


def state_of(page_url: str) -> dict[str, Any]:
    answer = get(f"{page_url}/state")
    assert answer.status == 200, answer.body
    return dict(answer.json())


def wait_for_state(page_url: str, condition: Any, what: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def met() -> bool:
        seen[:] = [state_of(page_url)]
        return bool(condition(seen[0]))

    wait_until(met, timeout=SHOWS_WITHIN_S, what=lambda: f"{what}; last state {seen}")
    return seen[0]


def totals(state: dict[str, Any]) -> dict[str, float]:
    return {row["name"]: row["total"] for row in state["rows"]}


def test_a_link_opens_the_page_until_it_is_revoked_then_404s_like_any_unknown_token(floor: LiveBot) -> None:
    page_url = new_link(floor, name="lobby")
    page = get(page_url)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"/tv/static/tv.js" in page.body and b"/tv/static/tv.css" in page.body
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for asset in ("tv.js", "wheel.js", "tv.css", "fonts/DejaVuSansCondensed-Bold.woff"):
        assert get(f"{floor.base_url}/tv/static/{asset}").status == 200, asset
    assert state_of(page_url)["region"] == "AMER"

    with floor.session_factory.begin() as session:
        stored = session.scalars(select(TvLink)).one()
        token = page_url.rsplit("/", 1)[1]
        assert len(token) >= 32 and stored.token_hash == hash_token(token) and token not in stored.token_hash
        revoke_link(session, TEAM_ID, "lobby", THURSDAY_10AM)

    wait_until(lambda: get(f"{page_url}/state").status == 404, timeout=SHOWS_WITHIN_S, what="revoked state 404")
    revoked_page, revoked_state = get(page_url), get(f"{page_url}/state")
    unknown = f"{floor.base_url}/tv/{'x' * 43}"
    unknown_page, unknown_state = get(unknown), get(f"{unknown}/state")
    assert revoked_page.status == unknown_page.status == 404
    assert revoked_page.body == unknown_page.body
    assert revoked_state.status == unknown_state.status == 404
    assert revoked_state.body == unknown_state.body
    assert get(f"{floor.base_url}/tv/short").status == 404


def test_an_unchanged_state_is_a_304_and_a_log_changes_it_within_three_seconds(floor: LiveBot) -> None:
    page_url = new_link(floor)
    first = get(f"{page_url}/state")
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('"') and first.headers["Cache-Control"] == "no-cache"
    again = get(f"{page_url}/state", etag)
    assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag
    # The page embeds the same state under the same tag, so its first poll is a 304 too.
    assert etag.strip('"').encode() in get(page_url).body

    floor.pg_reply("4 connects", user_id="U_ANA")
    changed = wait_for_state(page_url, lambda s: totals(s).get("Ana Lopez") == 4, "Ana's 4 connects")
    after = get(f"{page_url}/state", etag)
    assert after.status == 200 and after.headers["ETag"] != etag
    assert get(f"{page_url}/state", after.headers["ETag"]).status == 304
    assert changed["phase"] == "live"


def test_every_phase_of_connect_day_and_the_spin(floor: LiveBot) -> None:
    bot = floor
    bot.clock.set(THURSDAY_7AM)
    page_url = new_link(bot)
    before = state_of(page_url)
    assert before["phase"] == "week" and before["metric"] == "connect"
    assert [n["name"] for n in before["next"]] == ["Connect Day"] and before["next"][0]["start_local"] == "08:00"
    assert [leader["name"] for leader in before["leaders"]] == ["Dana Whitfield"]

    bot.clock.set(THURSDAY_10AM)
    live = state_of(page_url)
    assert live["phase"] == "live" and live["rows"] == [] and live["ticker"] == []
    competition = live["competition"]
    assert (competition["name"], competition["metric"], competition["end_local"]) == ("Connect Day", "connect", "17:30")
    assert competition["ends_at"] == "2026-11-26T22:30:00Z" and competition["last_call"] is False

    bot.pg_reply("5 connects", user_id="U_ANA")
    bot.pg_reply("7 connects", user_id="U_BEN")
    bot.pg_reply("2 connects", user_id="U_DANA")
    live = wait_for_state(page_url, lambda s: len(s["rows"]) == 3, "three people on the board")
    assert [(r["rank"], r["name"], r["total"], r["leader"]) for r in live["rows"]] == [
        (1, "Ben Okafor", 7.0, False),
        (2, "Ana Lopez", 5.0, False),
        (3, "Dana Whitfield", 2.0, True),
    ]
    assert live["rows"][0]["bar"] == 1.0 and 0 < live["rows"][2]["bar"] < live["rows"][1]["bar"] < 1
    assert [(item["name"], item["logged"], item["at"]) for item in live["ticker"]] == [
        ("Dana Whitfield", "2 connects", "10:00"),
        ("Ben Okafor", "7 connects", "10:00"),
        ("Ana Lopez", "5 connects", "10:00"),
    ]

    bot.clock.set(THURSDAY_5_05PM)
    assert state_of(page_url)["competition"]["last_call"] is True

    bot.clock.set(THURSDAY_5_31PM)
    ended = state_of(page_url)
    assert ended["phase"] == "ended" and totals(ended)["Ben Okafor"] == 7

    assert "Closed Connect Day in AMER" in bot.pg_reply("close", user_id="U_MGR")["text"]
    results = wait_for_state(page_url, lambda s: s["phase"] == "results", "the results")
    assert results["winners"] == [{"place": 1, "name": "Ben Okafor", "total": 7.0, "prize": None}]
    assert [row["winner"] for row in results["rows"]] == [True, False, False]
    bot.settle()

    bot.pg_reply("spin", user_id="U_MGR")
    spun = wait_for_state(page_url, lambda s: s["phase"] == "spin", "the spin")
    with bot.session_factory.begin() as session:
        spin = session.scalars(select(Spin)).one()
        prize, index = spin.prize_name, spin.winner_index
    wheel = spun["spin"]
    assert (wheel["winner"], wheel["prize"], wheel["winner_index"]) == ("Ben Okafor", prize, index)
    assert [s["name"] for s in wheel["segments"]] == ["Cowboy boots", "Team lunch"]
    shares = [s["share"] for s in wheel["segments"]]
    # The page stops where the GIF does: the GIF's own final rotation, in the winner's segment.
    assert pointer_segment(shares, wheel["stop_degrees"]) == index
    gif_final = final_rotation(shares, index, turns=4.0, jitter=wheel["jitter"])
    assert wheel["stop_degrees"] == pytest.approx(gif_final % 360, abs=1e-3)
    assert spun["winners"][0]["prize"] == prize
    bot.settle()

    bot.clock.set(THURSDAY_5_31PM + timedelta(hours=7))  # past midnight in New York
    assert state_of(page_url)["phase"] == "week"


def test_nothing_private_leaves_the_server(floor: LiveBot) -> None:
    page_url = new_link(floor)
    floor.pg_reply("3 connects called the CFO at home secret-note-xyz", user_id="U_ANA")
    floor.pg_reply("9 connects", user_id="U_EVE")  # EMEA: not on AMER's TV
    state = wait_for_state(page_url, lambda s: s["rows"], "Ana on the board")
    floor.clock.set(THURSDAY_5_31PM)
    floor.pg_reply("close", user_id="U_MGR")
    floor.settle()
    floor.pg_reply("spin", user_id="U_MGR")
    floor.settle()
    spin_state = wait_for_state(page_url, lambda s: s["phase"] == "spin", "the spin")
    floor.clock.set(THURSDAY_5_31PM + timedelta(days=1))
    week_state = state_of(page_url)
    for shown in (json.dumps(state), json.dumps(spin_state), json.dumps(week_state), get(page_url).body.decode()):
        assert "secret-note" not in shown and "CFO" not in shown
        assert "U_" not in shown and "@example.com" not in shown
        assert "Eve Outsider" not in shown and "T0001" not in shown
    keys = _all_keys([state, spin_state, week_state])
    assert not keys & {"user_id", "member_id", "email", "note", "seed", "team_id", "id", "spun_by"}


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


def test_a_manager_gets_a_private_link_from_slack_and_a_rep_does_not(floor: LiveBot) -> None:
    reply = floor.pg_reply("tv", user_id="U_MGR")
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    shown = json.dumps(reply)
    path = TV_PATH.findall(shown)[0]
    assert "PIPEDAY_PUBLIC_URL isn't set" in shown and "pipeday tv revoke amer-tv" in shown
    assert get(f"{floor.base_url}{path}").status == 200
    assert state_of(f"{floor.base_url}{path}")["region"] == "AMER"

    emea = floor.pg_reply("tv EMEA", user_id="U_MGR")
    emea_path = TV_PATH.findall(json.dumps(emea))[0]
    assert state_of(f"{floor.base_url}{emea_path}")["region"] == "EMEA"

    refused = floor.pg_reply("tv", user_id="U_ANA")
    assert "Only managers can make TV links" in json.dumps(refused) and "/tv/" not in json.dumps(refused)
    with floor.session_factory.begin() as session:
        assert sorted(session.scalars(select(TvLink.name))) == ["amer-tv", "emea-tv"]
        assert {link.created_by for link in session.scalars(select(TvLink))} == {"U_MGR"}


def test_a_database_that_is_down_is_a_503_which_the_page_shows_as_reconnecting() -> None:
    from flask import Flask

    from bot.tv import tv_blueprint
    from models.readiness import DatabaseNotReady

    def refuse() -> None:
        raise DatabaseNotReady("the database isn't ready: test")

    app = Flask("tv-test")
    app.register_blueprint(tv_blueprint(refuse, lambda: THURSDAY_10AM))  # type: ignore[arg-type]
    client = app.test_client()
    token = "t" * 43
    assert client.get(f"/tv/{token}/state").status_code == 503
    assert client.get(f"/tv/{token}").status_code == 503
