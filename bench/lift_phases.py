"""Where `pipeday lift`'s time goes, phase by phase, in a fresh process (bench/lift.py runs it).

    python bench/lift_phases.py DATABASE_URL AT_ISO_TIME    # prints one JSON object

The phases run one after another on one thread (the command overlaps the bootstraps with the
next region's queries on worker threads; here each phase is timed alone), each as wall and
CPU seconds of this process. CPU seconds move much less than wall seconds with other work on
the machine. PostgreSQL's own work is in the queries' wall time, not in this process's CPU.

- imports: the CLI (bot.cli.main, bot.cli.lift), then the database layer (SQLAlchemy, the
  models, Alembic for the migration check: models.db), then the report (bot.domain.lift and
  lift_text: NumPy);
- connect: the engine, its first connection and the migration check `pipeday` runs;
- queries: every region's figures (bot.domain.lift._load), in one session;
- bootstraps: every region's comparisons from those figures (bot.domain.lift._assemble);
- text: the report as `pipeday lift` prints it;
- weekly + chart: each week's intervals (`--chart` only) and drawing the PNG.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_marks: list[tuple[str, float, float]] = [("start", time.perf_counter(), time.process_time())]


def mark(phase: str) -> None:
    _marks.append((phase, time.perf_counter(), time.process_time()))


def main(database_url: str, at: str) -> dict[str, tuple[float, float]]:
    import bot.cli.lift
    import bot.cli.main

    mark("import CLI")
    from models.db import ensure_migrated, make_engine, make_session_factory

    mark("import database layer")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `pipeday lift` does (bot/cli/lift.py)
    from bot.domain import lift, lift_text  # noqa: F401

    mark("import report (NumPy)")
    from datetime import datetime

    from bot.domain.calendar_store import work_calendar
    from bot.domain.directory import list_regions

    engine = make_engine(database_url)
    ensure_migrated(engine)
    session_factory = make_session_factory(engine)
    now = datetime.fromisoformat(at)
    mark("connect + migration check")
    with session_factory.begin() as session:
        regions = list_regions(session, "T0001")
        calendar = work_calendar(session, "T0001")
        figures = [lift._load(session, region, now, lift.DEFAULT_WEEKS) for region in regions]
    mark("queries")
    report = [lift._assemble(data, calendar, lift.DEFAULT_WEEKS, False) for data in figures]
    mark("bootstraps")
    "\n\n".join(bot.cli.lift.report_text(region) for region in report)
    mark("text")
    weekly = [lift._assemble(data, calendar, lift.DEFAULT_WEEKS, True) for data in figures]
    mark("weekly intervals (--chart)")
    from bot.render.lift_chart import render_lift_chart

    render_lift_chart(weekly)
    mark("chart (--chart)")
    engine.dispose()
    return {b[0]: (b[1] - a[1], b[2] - a[2]) for a, b in itertools.pairwise(_marks)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
