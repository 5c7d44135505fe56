"""bot/ingest/csv_import.py reads and validates ahead of what it stores, on a thread of its own:
the summary still names each rejected row's own line, a broken file fails the import after the
rows before it were stored, and the reader thread never outlives the import."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region, join_region
from bot.ingest import csv_import
from bot.ingest.csv_import import Progress, import_csv
from models import Activity

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)
WHEN = (NOW - timedelta(hours=1)).isoformat()


@pytest.fixture
def workspace(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
        join_region(session, TEAM, "U_ANA", "ana", "AMER")
    return session_factory


def stored(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity)) or 0)


def reader_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "pipeday-import-reader"]


def test_rejected_rows_are_named_by_their_own_lines_across_batches_read_ahead(
    workspace: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 10)
    lines = ["external_id,type,occurred_at,slack_user_id", ""]  # a blank line is skipped
    lines += [f"r{n},{'fax' if n % 9 == 4 else 'call'},{WHEN},U_ANA" for n in range(45)]
    lines.insert(30, '"r-quoted","call","' + WHEN + '","U_ANA"')
    text = "\n".join(lines) + "\n"
    progress: list[Progress] = []
    summary = import_csv(
        workspace, TEAM, "backfill", io.StringIO(text), NOW, lambda _email: None, on_batch=progress.append
    )
    bad = [n for n in range(45) if n % 9 == 4]
    assert summary.rows == 46
    assert summary.counts == {"created": 46 - len(bad), "duplicate": 0, "unmatched": 0, "rejected": len(bad)}
    expected_lines = [n + 3 + (1 if n + 2 >= 30 else 0) for n in bad][: csv_import.SHOWN_PROBLEMS]
    assert [line for line, _, _ in summary.problems] == expected_lines
    assert [external_id for _, external_id, _ in summary.problems] == [f"r{n}" for n in bad][:5]
    assert [step.rows for step in progress] == [10, 20, 30, 40, 46]
    # Each step says how far into the file its own batch ends (not how far the reader has got).
    data_lines = [number for number, line in enumerate(lines, start=1) if number > 1 and line]
    batch_ends = [data_lines[rows - 1] for rows in (10, 20, 30, 40, 46)]
    assert [step.bytes_read for step in progress] == [len("\n".join(lines[:end])) + 1 for end in batch_ends]
    assert stored(workspace) == 46 - len(bad)
    assert reader_threads() == []


def test_a_broken_line_fails_the_import_after_the_batches_before_it_are_stored(
    workspace: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 10)
    rows = [f"r{n},call,{WHEN},U_ANA" for n in range(25)]
    rows[22] = "r22,call," + WHEN + ",U_ANA," + "x" * (csv.field_size_limit() + 1)  # larger than csv allows
    text = "external_id,type,occurred_at,slack_user_id\n" + "\n".join(rows) + "\n"
    with pytest.raises(csv.Error, match="field limit"):
        import_csv(workspace, TEAM, "backfill", io.StringIO(text), NOW, lambda _email: None)
    assert stored(workspace) == 20  # the two whole batches before the broken one
    assert reader_threads() == []


def test_a_failure_while_storing_stops_the_reader(
    workspace: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "BATCH_ROWS", 10)
    text = "external_id,type,occurred_at,slack_user_id\n" + "".join(f"r{n},call,{WHEN},U_ANA\n" for n in range(500))

    class Interrupted(Exception):
        pass

    def interrupted(progress: Progress) -> None:
        if progress.rows == 20:
            raise Interrupted  # as Ctrl-C would, between two batches

    with pytest.raises(Interrupted):
        import_csv(workspace, TEAM, "backfill", io.StringIO(text), NOW, lambda _email: None, on_batch=interrupted)
    assert reader_threads() == []
    assert stored(workspace) == 20
