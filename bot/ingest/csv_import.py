"""`pipeday import FILE.csv`: a CSV export streamed through the batch API's own path
(bot/ingest/batches.py `resolve_then_ingest`), 1,000 rows at a time, so memory stays flat and a
rerun (an interrupted import resumed) creates nothing new: each row's `external_id` is its
idempotency key, as it is for the API.

Columns are the batch API's fields; `mapping` renames a CRM export's headers to them. Empty
cells are absent fields.
"""

from __future__ import annotations

import csv
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ingestion import EmailResolver, ItemResult
from bot.ingest.batches import PreparedBatch, prepare_batch, store_batch

if TYPE_CHECKING:
    from _csv import Reader as _Reader

BATCH_ROWS = 1000
# Batches parsed and validated ahead of the one being stored (memory: a few batches at most).
READ_AHEAD = 2
HAND_OVER_POLL_S = 0.05
FIELDS = ("external_id", "source", "type", "quantity", "amount", "note", "occurred_at", "slack_user_id", "email")
SHOWN_PROBLEMS = 5


class BadHeader(ValueError):
    """The file's header can't be read as the batch API's fields."""


@dataclass
class ImportSummary:
    rows: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "duplicate": 0, "unmatched": 0, "rejected": 0}
    )
    # (CSV line, external id, reason) of the first few rejected rows.
    problems: list[tuple[int, str | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    rows: int
    bytes_read: int


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--map column=field` options → {column: field}."""
    mapping = {}
    for pair in pairs:
        column, equals, target = pair.partition("=")
        if not equals or not column.strip() or target.strip() not in FIELDS:
            raise BadHeader(f"--map {pair!r}: use COLUMN=FIELD, FIELD one of {', '.join(FIELDS)}.")
        mapping[column.strip()] = target.strip()
    return mapping


def import_csv(
    session_factory: sessionmaker[Session],
    team_id: str,
    source: str,
    lines: TextIO,
    now: datetime,
    resolve_email: EmailResolver,
    *,
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    on_batch: Callable[[Progress], None] | None = None,
    chunk_items: int | None = None,
) -> ImportSummary:
    """Import every row of `lines` (an open CSV file); `source` is the default for rows without one.

    A reader thread parses and validates the next batches while this one stores the current
    one (SQLite and the database drivers let go of the GIL while they write); at most
    READ_AHEAD batches wait in between, so memory stays flat whatever the file's size."""
    summary = ImportSummary()
    counter = _CountingLines(lines)
    reader = csv.reader(counter)
    columns = _columns(next(reader, None), mapping or {})
    batches = (
        _Batch(line_numbers, prepare_batch(items, source, now), counter.bytes_read)
        for line_numbers, items in _batches(reader, columns)
    )
    for batch in _read_ahead(batches, READ_AHEAD):
        report = store_batch(
            session_factory, team_id, batch.prepared, now, resolve_email, dry_run=dry_run, chunk_items=chunk_items
        )
        for line, result in zip(batch.line_numbers, report.results, strict=True):
            _count(summary, line, result)
        summary.rows += len(batch.line_numbers)
        if on_batch is not None:
            on_batch(Progress(summary.rows, batch.bytes_read))
    return summary


@dataclass(frozen=True)
class _Batch:
    line_numbers: list[int]  # the CSV line each item ends on, for the summary's reasons
    prepared: PreparedBatch
    bytes_read: int  # how far into the file this batch ends


def _columns(header: list[str] | None, mapping: Mapping[str, str]) -> dict[int, str]:
    """{CSV column's position: API field} for the columns that carry a field (a name given
    twice is read from its last column)."""
    if not header:
        raise BadHeader("The file is empty: its first line must name the columns.")
    unknown = set(mapping) - set(header)
    if unknown:
        raise BadHeader(f"--map names columns the file doesn't have: {', '.join(sorted(unknown))}.")
    named = {name: position for position, name in enumerate(header)}
    columns = {}
    for name, position in named.items():
        target = mapping.get(name, name.strip())
        if target in FIELDS:
            columns[position] = target
    missing = {"external_id", "type", "occurred_at"} - set(columns.values())
    if missing:
        raise BadHeader(
            f"No column for {', '.join(sorted(missing))}: name it in the header or map one with --map COLUMN=FIELD."
        )
    return columns


def _batches(reader: _Reader, columns: Mapping[int, str]) -> Iterator[tuple[list[int], list[object]]]:
    """(line numbers, items) of BATCH_ROWS rows at a time; empty cells are absent fields."""
    line_numbers: list[int] = []
    items: list[object] = []
    for row in reader:
        if not row:
            continue  # a blank line
        width = len(row)
        items.append(
            {
                target: value
                for position, target in columns.items()
                if position < width and (value := row[position].strip())
            }
        )
        line_numbers.append(reader.line_num)
        if len(items) == BATCH_ROWS:
            yield line_numbers, items
            line_numbers, items = [], []
    if items:
        yield line_numbers, items


def _read_ahead(batches: Iterator[_Batch], depth: int) -> Iterator[_Batch]:
    """`batches`, produced on a thread of their own at most `depth` ahead of the consumer; an
    error there is raised here, and the thread stops when the consumer stops or fails."""
    ready: queue.Queue[_Batch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(value: _Batch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=HAND_OVER_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            hand_over(error)
            return
        hand_over(None)

    reader = threading.Thread(target=produce, name="pipeday-import-reader", daemon=True)
    reader.start()
    try:
        while (value := ready.get()) is not None:
            if isinstance(value, BaseException):
                raise value
            yield value
    finally:
        stop.set()
        reader.join()


def _count(summary: ImportSummary, line: int, result: ItemResult) -> None:
    summary.counts[result.status] += 1
    if result.status == "rejected" and len(summary.problems) < SHOWN_PROBLEMS:
        summary.problems.append((line, result.external_id, result.error or "rejected"))


class _CountingLines:
    """The file's lines, counting the characters read (for the progress line's time left)."""

    def __init__(self, lines: TextIO) -> None:
        self._lines = lines
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.bytes_read += len(line)
            yield line
