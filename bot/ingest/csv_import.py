"""`pipeday import FILE.csv`: a CSV export streamed through the batch API's own path
(bot/ingest/batches.py `resolve_then_ingest`), 1,000 rows at a time, so memory stays flat and a
rerun (an interrupted import resumed) creates nothing new: each row's `external_id` is its
idempotency key, as it is for the API.

Columns are the batch API's fields; `mapping` renames a CRM export's headers to them. Empty
cells are absent fields.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ingestion import EmailResolver, ItemResult
from bot.ingest.batches import resolve_then_ingest

BATCH_ROWS = 1000
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
) -> ImportSummary:
    """Import every row of `lines` (an open CSV file); `source` is the default for rows without one."""
    summary = ImportSummary()
    counter = _CountingLines(lines)
    reader = csv.DictReader(counter)
    columns = _columns(reader.fieldnames, mapping or {})
    for batch in _batches(reader, columns):
        report = resolve_then_ingest(
            session_factory, team_id, source, [item for _, item in batch], now, resolve_email, dry_run=dry_run
        )
        for (line, _), result in zip(batch, report.results, strict=True):
            _count(summary, line, result)
        summary.rows += len(batch)
        if on_batch is not None:
            on_batch(Progress(summary.rows, counter.bytes_read))
    return summary


def _columns(header: object, mapping: Mapping[str, str]) -> dict[str, str]:
    """{CSV column: API field} for the columns that carry a field."""
    if not isinstance(header, list) or not header:
        raise BadHeader("The file is empty: its first line must name the columns.")
    unknown = set(mapping) - set(header)
    if unknown:
        raise BadHeader(f"--map names columns the file doesn't have: {', '.join(sorted(unknown))}.")
    columns = {}
    for name in header:
        target = mapping.get(name, name.strip())
        if target in FIELDS:
            columns[name] = target
    missing = {"external_id", "type", "occurred_at"} - set(columns.values())
    if missing:
        raise BadHeader(
            f"No column for {', '.join(sorted(missing))}: name it in the header or map one with --map COLUMN=FIELD."
        )
    return columns


def _batches(reader: csv.DictReader[str], columns: Mapping[str, str]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        item = {target: value.strip() for column, target in columns.items() if (value := row.get(column) or "").strip()}
        batch.append((reader.line_num, item))
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


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
