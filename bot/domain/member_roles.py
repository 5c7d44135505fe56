"""A member's roles and jobs: plain words, importable without the database layer (the CLI's
option choices, shown by `--help`, come from here)."""

from __future__ import annotations

ROLES = ("rep", "leader", "manager", "admin")
JOBS = ("ae", "sdr")
