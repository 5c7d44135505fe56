"""bot/ingest/flag_checks.IngestedFlagger under a sustained ingest: batches queued while a pass
runs, or within the pass interval after it began, are checked together in the next pass, with
the same flags as checking them one by one; `close` checks what is still queued at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region, join_region
from bot.domain.ingested_days import IngestedActivity
from bot.ingest.batches import resolve_then_ingest
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns
from models import Flag
from tests.support.waiting import wait_until

TEAM_ID = "T1"
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
# Far longer than the test: only close() (or wait_idle) ends the wait for the next pass.
HOUR = 3600.0


def ny(day: int, hour: int, minute: int = 0) -> str:
    """November `day`, 2026 at hour:minute in New York (UTC-5)."""
    return datetime(2026, 11, day, hour, minute).isoformat() + "-05:00"


def item(external_id: str, when: str, user_id: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "type": "call",
        "occurred_at": when,
        "slack_user_id": user_id,
        "quantity": quantity,
    }


BATCHES: list[list[dict[str, Any]]] = [
    # Tuesday night: ana before the usual hours, ben after them.
    [item("a1", ny(24, 5), "U_ANA"), item("b1", ny(24, 22, 30), "U_BEN"), item("a2", ny(24, 10), "U_ANA")],
    # More of both nights (their flags are refreshed), a new night for ana, London's eve.
    [item("a3", ny(24, 5, 40), "U_ANA"), item("b2", ny(24, 23, 10), "U_BEN", 3), item("a4", ny(25, 4), "U_ANA")],
    [item("e1", "2026-11-24T23:30:00+00:00", "U_EVE"), item("b3", ny(24, 22, 45), "U_BEN")],
    [item("a5", ny(24, 5, 50), "U_ANA"), item("a6", ny(25, 4, 30), "U_ANA"), item("b4", ny(25, 12), "U_BEN")],
]


def ingest(session_factory: sessionmaker[Session]) -> list[list[IngestedActivity]]:
    with session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM_ID, "EMEA", "Europe/London", "C_EMEA", actor="test")
        for user_id, region in (("U_ANA", "AMER"), ("U_BEN", "AMER"), ("U_EVE", "EMEA")):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), region)
    batches = []
    for items in BATCHES:
        report = resolve_then_ingest(session_factory, TEAM_ID, "dialer", items, NOW, lambda email: None)
        assert len(report.created) == len(items)
        batches.append(list(report.created))
    return batches


StoredFlag = tuple[str, int, date, str, datetime, datetime, dict[str, Any], str]


def stored_flags(session_factory: sessionmaker[Session]) -> list[StoredFlag]:
    with session_factory() as session:
        return [
            (f.rule, f.member_id, f.local_date, f.dedupe_key, f.span_start, f.span_end, f.figures, f.summary)
            for f in session.scalars(select(Flag).order_by(Flag.dedupe_key))
        ]


class RecordingFlagger(IngestedFlagger):
    """Records the activity ids of each pass (of each slice, with turns)."""

    def __init__(self, session_factory: sessionmaker[Session], **options: Any) -> None:
        super().__init__(session_factory, lambda: NOW, pass_interval_s=HOUR, **options)
        self.passes: list[list[int]] = []
        self.checked: list[list[IngestedActivity]] = []

    def _check(self, batch: Sequence[IngestedActivity]) -> None:
        self.passes.append(sorted(activity.activity_id for activity in batch))
        self.checked.append(list(batch))
        super()._check(batch)


def ids(*batches: Sequence[IngestedActivity]) -> list[int]:
    return sorted(activity.activity_id for batch in batches for activity in batch)


def flags_checked_one_by_one(
    session_factory: sessionmaker[Session], batches: list[list[IngestedActivity]]
) -> list[StoredFlag]:
    """The flags of checking each batch on its own; then none stored, for the pass to raise again."""
    one_by_one = IngestedFlagger(session_factory, lambda: NOW)
    for batch in batches:
        one_by_one.check_now(batch)
    flags = stored_flags(session_factory)
    with session_factory.begin() as session:
        session.execute(delete(Flag))
    return flags


def test_batches_queued_within_the_pass_interval_are_checked_in_one_pass_with_the_same_flags(
    session_factory: sessionmaker[Session],
) -> None:
    batches = ingest(session_factory)
    expected = flags_checked_one_by_one(session_factory, batches)
    assert [(rule, figures["side"], figures["logs"]) for rule, *_, figures, _ in expected] == [
        ("hours", "before", 3),  # ana's Tuesday morning (by dedupe key: member, day, side)
        ("hours", "before", 2),  # ana's Wednesday morning
        ("hours", "after", 3),  # ben's Tuesday evening: 3 calls (5 in all)
        ("hours", "after", 1),  # eve's Tuesday evening in London
    ]

    flagger = RecordingFlagger(session_factory)
    flagger.submit(batches[0])  # the first pass begins at once
    wait_until(lambda: flagger.passes == [ids(batches[0])], what=lambda: f"the first pass ({flagger.passes})")
    flagger.wait_idle()  # done, and its thread gone: the next batch starts another
    for batch in batches[1:]:
        flagger.submit(batch)  # within the interval since the first pass began: they wait, together
    flagger.close()
    assert flagger.passes == [ids(batches[0]), ids(*batches[1:])]
    assert stored_flags(session_factory) == expected


def test_a_pass_is_checked_in_slices_of_whole_member_days(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """With turns, a pass goes a slice at a time; each person's activity of a local day lands in
    one slice, so a night flag is refreshed once a pass, not once a slice."""
    batches = ingest(session_factory)
    expected = flags_checked_one_by_one(session_factory, batches)
    flagger = RecordingFlagger(session_factory, turns=IngestTurns(tmp_path / "turns.lock"), turn_slice=4)
    flagger.submit(batches[0])
    wait_until(lambda: flagger.passes, what="the first pass")
    flagger.wait_idle()
    for batch in batches[1:]:  # 8 activities, in the order sent: ana's and ben's nights in turn
        flagger.submit(batch)
    flagger.close()

    second_pass = flagger.checked[1:]
    assert [len(part) for part in second_pass] == [4, 4]
    seen: set[tuple[int, date]] = set()
    for part in second_pass:
        days = {(a.member_id, a.occurred_at.astimezone(ZoneInfo(a.tz or "UTC")).date()) for a in part}
        assert not days & seen, f"a member-day in two slices: {days & seen}"
        seen |= days
    assert stored_flags(session_factory) == expected


def test_after_close_a_batch_is_checked_on_its_own_thread(session_factory: sessionmaker[Session]) -> None:
    first, *_ = ingest(session_factory)
    flagger = RecordingFlagger(session_factory)
    flagger.close()
    flagger.submit(first)  # returns once checked: nothing left queued for a thread that exits
    assert flagger.passes == [ids(first)]
    assert len(stored_flags(session_factory)) == 2
