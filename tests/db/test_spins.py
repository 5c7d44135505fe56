"""Spinning the wheel against a real database: the draw, stock and renormalisation, one spin
per winner (also under concurrency, on both databases), fulfilment and verification."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.jobs_listing import needs_attention
from bot.domain.competition_closing import close_day
from bot.domain.directory import get_member
from bot.domain.errors import Conflict, NotFound
from bot.domain.prizes import add_prize, current_wheel, remove_prize, restock_prize
from bot.domain.spins import (
    AlreadySpun,
    SpinResult,
    claim_announcement,
    list_awards,
    mark_delivered,
    require_next_winner,
    spin_context,
    spin_for,
    spin_or_resume,
    verify_spin,
    winner_to_spin,
)
from bot.domain.wheel import WheelPrize, draw, wheel_segments
from bot.posting.retrying import NO_RETRY, RetryPolicy
from bot.posting.spin_announcements import (
    ANNOUNCE_LEASE,
    SWEEP_WITHIN,
    WHEEL_WAITS_FOR_ATTEMPTS,
    AnnouncementFailed,
    announce_pending_spins,
    announce_spin,
)
from models import CompetitionDay, Prize, Spin
from tests.db.test_competitions import (
    TEAM,
    THURSDAY,
    THURSDAY_MORNING_NY,
    connect_day,
    day_of,
    log,
    person,
    run_threads,
    setup_regions,
)
from tests.support.clock import FakeClock
from tests.support.slack_stub import SlackStub

CLOSING = THURSDAY_MORNING_NY + timedelta(hours=2)
SPUN_AT = CLOSING + timedelta(minutes=5)


def closed_day(session: Session, winners: int = 1, reps: int = 1) -> CompetitionDay:
    """Connect Day in AMER, closed, with `reps` reps (U_REP0 logged most) and `winners` winners."""
    setup_regions(session)
    competition = connect_day(session, winners=winners)
    for n in range(reps):
        person(session, f"U_REP{n}", "AMER")
        log(session, f"U_REP{n}", 20 - n, "connect", THURSDAY_MORNING_NY)
    day = day_of(session, competition, "AMER", THURSDAY)
    close_day(session, day, CLOSING, closed_by="U_MGR")
    return day


def load_day(session: Session, day_id: int) -> CompetitionDay:
    day = session.get(CompetitionDay, day_id)
    assert day is not None
    return day


def winner_id(day: CompetitionDay, place: int = 1) -> int:
    return day.winners[place - 1].member_id


def test_spin_awards_the_drawn_prize_and_uses_up_stock(session: Session) -> None:
    day = closed_day(session)
    boots = add_prize(session, TEAM, "Cowboy boots", weight=1, stock=2, actor="test")
    add_prize(session, TEAM, "Team lunch", weight=3, actor="test")

    result = spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT)

    context = spin_context(TEAM, day.id, "U_REP0")
    segments = [WheelPrize(boots.id, "Cowboy boots", 1.0, None), WheelPrize(boots.id + 1, "Team lunch", 3.0, None)]
    expected = segments[draw(segments, day.seed or "", context)].name
    assert (result.prize_name, result.user_id) == (expected, "U_REP0")
    spin = session.get(Spin, result.spin_id)
    assert spin is not None and (spin.seed, spin.context, spin.status) == (day.seed, context, "pending")
    session.refresh(boots)
    assert boots.stock == (1 if expected == "Cowboy boots" else 2)


def test_out_of_stock_prizes_leave_the_wheel_and_odds_renormalise(session: Session) -> None:
    setup_regions(session)
    add_prize(session, TEAM, "Boots", weight=1, stock=0, actor="test")
    add_prize(session, TEAM, "Lunch", weight=1, actor="test")
    add_prize(session, TEAM, "Socks", weight=3, stock=5, actor="test")
    add_prize(session, TEAM, "Mug", weight=4, actor="test")
    remove_prize(session, TEAM, "Mug", actor="test")

    wheel = [(slot.prize.name, round(slot.chance, 4)) for slot in current_wheel(session, TEAM)]
    assert wheel == [("Lunch", 0.25), ("Socks", 0.75)]

    restock_prize(session, TEAM, "Boots", 2, actor="test")
    wheel = [(slot.prize.name, round(slot.chance, 4)) for slot in current_wheel(session, TEAM)]
    assert wheel == [("Boots", 0.2), ("Lunch", 0.2), ("Socks", 0.6)]


def spin_for_next_winner(session: Session, day: CompetitionDay) -> SpinResult:
    """What `/pg spin` does in its transaction."""
    member_id = winner_to_spin(session, day, claimed_before=SPUN_AT - ANNOUNCE_LEASE)
    return spin_or_resume(session, day, member_id, spun_by="U_MGR", now=SPUN_AT)


def test_a_prize_that_runs_out_is_never_drawn_again(session: Session) -> None:
    day = closed_day(session, winners=6, reps=6)
    add_prize(session, TEAM, "Boots", weight=1000, stock=1, actor="test")  # nearly certain while in stock
    add_prize(session, TEAM, "Sticker", weight=0.001, actor="test")

    won = [spin_for_next_winner(session, day).prize_name for _ in range(6)]

    assert won.count("Boots") <= 1 and won[0] == "Boots"
    spins = session.scalars(select(Spin).order_by(Spin.id)).all()
    assert all([s["name"] for s in spin.segments] == ["Sticker"] for spin in spins[1:])  # recorded wheels
    assert session.scalar(select(Prize.stock).where(Prize.name == "Boots")) == 0


def test_no_prizes_left_refuses_and_changes_nothing(session: Session) -> None:
    day = closed_day(session)
    add_prize(session, TEAM, "Boots", stock=0, actor="test")
    with pytest.raises(Conflict, match="no prizes left"):
        spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT)
    assert session.scalar(select(func.count()).select_from(Spin)) == 0


def test_one_spin_per_winner(session: Session) -> None:
    day = closed_day(session)
    add_prize(session, TEAM, "Boots", actor="test")
    spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT)
    with pytest.raises(AlreadySpun, match="already spun"):
        spin_for(session, day, winner_id(day), spun_by="U_OTHER_MGR", now=SPUN_AT)
    with pytest.raises(AlreadySpun, match="Every winner"):
        require_next_winner(session, day)


def test_only_winners_of_closed_days_spin(session: Session) -> None:
    day = closed_day(session, reps=2)
    add_prize(session, TEAM, "Boots", actor="test")
    runner_up = get_member(session, TEAM, "U_REP1")
    assert runner_up is not None and runner_up.id != winner_id(day)
    with pytest.raises(NotFound, match="isn't a winner"):
        spin_for(session, day, runner_up.id, spun_by="U_MGR", now=SPUN_AT)
    day.status = "open"
    with pytest.raises(Conflict, match="isn't closed"):
        spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT)


def test_uniqueness_and_stock_are_database_facts(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        day = closed_day(session)
        prize = add_prize(session, TEAM, "Boots", stock=1, actor="test")
        spin = spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT)
        original = session.get(Spin, spin.spin_id)
        assert original is not None
        row = {c.key: getattr(original, c.key) for c in Spin.__table__.columns if c.key != "id"}
        prize_id = prize.id
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(Spin(**row))  # a second spin for the same winner and day
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.execute(update(Prize).where(Prize.id == prize_id).values(stock=Prize.stock - 1))  # 0 -> -1


def test_concurrent_spins_for_one_winner_make_exactly_one(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        day = closed_day(session)
        add_prize(session, TEAM, "Boots", stock=5, actor="test")
        add_prize(session, TEAM, "Lunch", actor="test")
        day_id, member_id = day.id, winner_id(day)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def double_click(manager: str) -> None:
        barrier.wait()
        try:
            with session_factory.begin() as session:
                spin_for(session, load_day(session, day_id), member_id, spun_by=manager, now=SPUN_AT)
            outcomes.append("spun")
        except AlreadySpun:
            outcomes.append("refused")

    run_threads([partial(double_click, f"U_MGR{n}") for n in range(8)])

    assert Counter(outcomes) == {"spun": 1, "refused": 7}
    with session_factory.begin() as session:
        (spin,) = session.scalars(select(Spin)).all()
        boots = session.scalars(select(Prize).where(Prize.name == "Boots")).one()
        assert boots.stock == (4 if spin.prize_name == "Boots" else 5)


def test_concurrent_spins_never_take_stock_below_zero(session_factory: sessionmaker[Session]) -> None:
    winners = 8
    with session_factory.begin() as session:
        day = closed_day(session, winners=winners, reps=winners)
        add_prize(session, TEAM, "Boots", stock=3, actor="test")  # the only prize: 3 to go round
        day_id, member_ids = day.id, [w.member_id for w in day.winners]
    barrier = threading.Barrier(winners)
    outcomes: list[str] = []

    def spin_one(member_id: int) -> None:
        barrier.wait()
        try:
            with session_factory.begin() as session:
                spin_for(session, load_day(session, day_id), member_id, spun_by="U_MGR", now=SPUN_AT)
            outcomes.append("won")
        except Conflict as refusal:
            assert "no prizes left" in refusal.message
            outcomes.append("empty wheel")

    run_threads([partial(spin_one, m) for m in member_ids])

    assert Counter(outcomes) == {"won": 3, "empty wheel": winners - 3}
    with session_factory.begin() as session:
        assert session.scalar(select(Prize.stock)) == 0
        assert session.scalar(select(func.count()).select_from(Spin)) == 3


def test_verify_recomputes_and_catches_tampering(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        day = closed_day(session)
        for name, weight in (("Boots", 1), ("Lunch", 2), ("Socks", 3.5)):
            add_prize(session, TEAM, name, weight=weight, stock=9, actor="test")
        spin_id = spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT).spin_id
        # Stock and prizes change later; verification uses the wheel as it was.
        remove_prize(session, TEAM, "Lunch", actor="test")

    with session_factory.begin() as session:
        good = verify_spin(session, spin_id)
        assert good.ok and good.recomputed_index == good.recorded_index
        assert [s.name for s in good.segments] == ["Boots", "Lunch", "Socks"]
        spin = session.get(Spin, spin_id)
        assert spin is not None
        spin.winner_index = (spin.winner_index + 1) % 3
        assert "was awarded" in (verify_spin(session, spin_id).problem or "")
        spin.seed = "0" * 64
        assert "does not hash to the commitment" in (verify_spin(session, spin_id).problem or "")
        session.rollback()


def test_delivery_is_marked_once_and_listed(session: Session) -> None:
    day = closed_day(session)
    add_prize(session, TEAM, "Boots", actor="test")
    spin_id = spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT).spin_id
    assert [(a.spin_id, a.prize, a.status, a.user_id, a.region) for a in list_awards(session, TEAM)] == [
        (spin_id, "Boots", "pending", "U_REP0", "AMER")
    ]

    first = mark_delivered(session, TEAM, spin_id, actor="U_MGR", now=SPUN_AT + timedelta(days=2))
    again = mark_delivered(session, TEAM, spin_id, actor="U_MGR2", now=SPUN_AT + timedelta(days=3))

    assert (first.changed, again.changed) == (True, False)
    assert (again.spin.delivered_by, again.spin.delivered_at) == ("U_MGR", SPUN_AT + timedelta(days=2))
    assert [a.status for a in list_awards(session, TEAM, "delivered")] == ["delivered"]
    assert list_awards(session, TEAM, "pending") == []
    with pytest.raises(NotFound):
        mark_delivered(session, "T_OTHER", spin_id, actor="U_MGR", now=SPUN_AT)


def test_wheel_segments_match_what_the_domain_draws_from(session: Session) -> None:
    """The DB layer feeds wheel_segments exactly the active prizes, in id order."""
    setup_regions(session)
    made = [
        add_prize(session, TEAM, name, weight=w, stock=s, actor="test")
        for name, w, s in (("A", 1, None), ("B", 2, 0), ("C", 3, 1))
    ]
    expected = wheel_segments([WheelPrize(p.id, p.name, p.weight, p.stock) for p in made])
    assert [slot.prize for slot in current_wheel(session, TEAM)] == expected


# --- announcing: recorded step by step, retried, never drawn again ----------------------------


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as stub:
        yield stub
    assert stub.errors == [], stub.errors


def drawn(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        day = closed_day(session)
        add_prize(session, TEAM, "Cowboy boots", weight=1, stock=2, actor="test")
        return spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT).spin_id


def spin_row(session_factory: sessionmaker[Session], spin_id: int) -> Spin:
    with session_factory.begin() as session:
        spin = session.get(Spin, spin_id)
        assert spin is not None
        return spin


def test_a_transient_failure_is_retried_with_backoff_and_done_steps_are_not_repeated(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn(session_factory)
    waits: list[float] = []
    slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=2)

    outcome = announce_spin(slack.client(), session_factory, spin_id, lambda: SPUN_AT, RetryPolicy(sleep=waits.append))

    assert outcome.status == "announced" and waits == [2.0, 10.0]
    assert len(slack.shared_files()) == 1  # the wheel went out on the first try, and only then
    assert [m.args["text"] for m in slack.posted_messages("C_AMER")] == ["🎉 <@U_REP0> won Cowboy boots!"]
    assert len(slack.posted_messages("DU_REP0")) == 1
    spin = spin_row(session_factory, spin_id)
    assert spin.announced_at == SPUN_AT and spin.announce_claimed_at is None and spin.announce_attempts == 1
    again = announce_spin(slack.client(), session_factory, spin_id, lambda: SPUN_AT, NO_RETRY)
    assert again.status == "already" and len(slack.posted_messages()) == 2


def test_a_permanent_error_is_not_retried_and_is_recorded(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn(session_factory)
    waits: list[float] = []
    slack.fail("chat.postMessage", error="channel_not_found", status=200, retry_after=None, times=None)

    with pytest.raises(AnnouncementFailed, match="channel_not_found"):
        announce_spin(slack.client(), session_factory, spin_id, lambda: SPUN_AT, RetryPolicy(sleep=waits.append))

    assert waits == []
    spin = spin_row(session_factory, spin_id)
    assert spin.announced_at is None and spin.announce_claimed_at is None
    assert spin.wheel_posted_at is not None and "channel_not_found" in (spin.announce_error or "")
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Spin)) == 1


def test_one_announcer_at_a_time_until_its_lease_runs_out(session_factory: sessionmaker[Session]) -> None:
    spin_id = drawn(session_factory)
    with session_factory.begin() as session:
        assert claim_announcement(session, spin_id, now=SPUN_AT, lease=ANNOUNCE_LEASE)
    with session_factory.begin() as session:
        assert not claim_announcement(session, spin_id, now=SPUN_AT + timedelta(minutes=1), lease=ANNOUNCE_LEASE)
    later = SPUN_AT + ANNOUNCE_LEASE + timedelta(seconds=1)  # its announcer died
    with session_factory.begin() as session:
        assert claim_announcement(session, spin_id, now=later, lease=ANNOUNCE_LEASE)
    assert spin_row(session_factory, spin_id).announce_attempts == 2


def test_the_clocks_sweep_finishes_a_left_over_spin_but_leaves_a_fresh_one_alone(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn(session_factory)

    assert announce_pending_spins(slack.client(), session_factory, SPUN_AT + timedelta(seconds=30)) == []
    assert slack.calls("chat.postMessage") == []
    swept = announce_pending_spins(slack.client(), session_factory, SPUN_AT + timedelta(minutes=3))

    assert [(o.spin_id, o.status) for o in swept] == [(spin_id, "announced")]
    assert len(slack.posted_messages("C_AMER")) == 1
    assert announce_pending_spins(slack.client(), session_factory, SPUN_AT + timedelta(minutes=4)) == []


def test_the_sweep_leaves_out_a_wheel_gif_that_keeps_failing_and_announces_the_rest(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn(session_factory)
    slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=None)
    tick = SPUN_AT + timedelta(minutes=3)

    for _ in range(WHEEL_WAITS_FOR_ATTEMPTS - 1):  # the first sweeps wait for the GIF
        assert announce_pending_spins(slack.client(), session_factory, tick) == []
        assert slack.posted_messages("C_AMER") == []
        tick += timedelta(minutes=1)
    swept = announce_pending_spins(slack.client(), session_factory, tick)

    assert [(o.spin_id, o.status) for o in swept] == [(spin_id, "announced")]
    note, announcement = slack.posted_messages("C_AMER")
    assert "couldn't be attached" in note.args["text"] and "internal_error" in note.args["text"]
    assert announcement.args["text"] == "🎉 <@U_REP0> won Cowboy boots!"
    assert len(slack.posted_messages("DU_REP0")) == 1 and slack.shared_files() == []
    spin = spin_row(session_factory, spin_id)
    assert spin.announced_at is not None and spin.announce_attempts == WHEEL_WAITS_FOR_ATTEMPTS


def test_slash_spin_and_the_button_resume_a_spin_never_announced_and_never_draw_again(
    session_factory: sessionmaker[Session],
) -> None:
    spin_id = drawn(session_factory)  # drawn; its announcer died before anything went out
    with session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        member_id = winner_to_spin(session, day, claimed_before=SPUN_AT)
        assert member_id == winner_id(day)  # every winner spun: the one never announced
        assert spin_or_resume(session, day, member_id, spun_by="U_MGR2", now=SPUN_AT).spin_id == spin_id
        session.execute(update(Spin).values(announced_at=SPUN_AT))
        session.expire_all()
        with pytest.raises(AlreadySpun, match="Every winner"):
            winner_to_spin(session, day, claimed_before=SPUN_AT)
        with pytest.raises(AlreadySpun, match="already spun"):
            spin_or_resume(session, day, member_id, spun_by="U_MGR2", now=SPUN_AT)
        assert session.scalar(select(func.count()).select_from(Spin)) == 1


def test_each_announcement_step_is_stamped_when_it_happens_not_when_the_button_was_pressed(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn(session_factory)
    clock = FakeClock(SPUN_AT)
    slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=1)

    def wait(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    announce_spin(slack.client(), session_factory, spin_id, clock, RetryPolicy(sleep=wait))

    spin = spin_row(session_factory, spin_id)
    assert spin.wheel_posted_at == SPUN_AT  # the first try: the GIF went out, the post did not
    retried = SPUN_AT + timedelta(seconds=2)
    assert (spin.dm_sent_at, spin.announced_at) == (retried, retried)


def test_jobs_list_shows_the_spins_the_sweep_still_covers_and_counts_older_ones(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        day = closed_day(session, winners=3, reps=3)
        add_prize(session, TEAM, "Cowboy boots", weight=1, actor="test")
        spins = [
            spin_for(session, day, winner_id(day, place), spun_by="U_MGR", now=SPUN_AT).spin_id for place in (1, 2, 3)
        ]
        for old in spins[1:]:  # never announced, from long before the sweep's window
            session.execute(update(Spin).where(Spin.id == old).values(spun_at=SPUN_AT - SWEEP_WITHIN * 3))
    with session_factory.begin() as session:
        lines = needs_attention(session, None, SPUN_AT + timedelta(minutes=10))

    assert [line for line in lines if line.startswith(f"! spin #{spins[0]}:")]
    assert not [line for line in lines if f"spin #{spins[1]}" in line or f"spin #{spins[2]}" in line]
    assert [line for line in lines if line.startswith("! 2 spin(s) from before")] and len(lines) == 2
    with session_factory.begin() as session:
        assert len(needs_attention(session, "T_OTHER", SPUN_AT + timedelta(minutes=10))) == 0
