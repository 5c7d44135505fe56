"""The scheduler's plain constants: the kinds of scheduled post and how often the clock re-reads
its configuration. Importable without APScheduler or the database layer (the CLI's options and
their `--help` use them)."""

from __future__ import annotations

from datetime import timedelta

COMPETITION_KINDS: tuple[str, ...] = ("kickoff", "standings", "last_call", "results")
WEEKLY_KINDS: tuple[str, ...] = ("weekly_summary", "goals_kickoff")
JOB_KINDS: tuple[str, ...] = COMPETITION_KINDS + WEEKLY_KINDS

DEFAULT_RECONCILE_EVERY = timedelta(seconds=60)
