"""What the clock says it will run as it starts (`pipeday clock`'s first lines)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.domain.calendar_store import WEEKDAY_NAMES
from bot.scheduler.specs import JobSpec

SUMMARY_WORKSPACES = 20


def schedule_summary(specs: Sequence[JobSpec]) -> list[str]:
    """One line per job kind and region: when it runs (per competition for competition posts).
    Past SUMMARY_WORKSPACES workspaces, the counts per kind instead (`pipeday jobs list` has
    each job): a clock serving a thousand workspaces would start with 18,000 lines."""
    teams = {spec.team_id for spec in specs}
    if len(teams) > SUMMARY_WORKSPACES:
        regions = len({(spec.team_id, spec.region_id) for spec in specs})
        kinds = Counter(spec.kind for spec in specs)
        per_kind = ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items()))
        return [f"{len(specs)} jobs in {len(teams)} workspaces and {regions} regions: {per_kind}"]
    groups: dict[tuple[str, int, str], list[JobSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.team_id, spec.region_id, spec.kind), []).append(spec)
    several_teams = len({spec.team_id for spec in specs}) > 1
    lines = []
    for (team_id, _region_id, kind), group in groups.items():
        first = group[0]
        times = ", ".join(_when(spec) for spec in sorted(group, key=lambda s: (s.schedule.weekday, s.schedule.at)))
        where = f"{first.region_name} ({team_id})" if several_teams else first.region_name
        lines.append(f"{kind} in {where}: {times} {first.schedule.tz}")
    return lines


def _when(spec: JobSpec) -> str:
    when = f"{WEEKDAY_NAMES[spec.schedule.weekday].capitalize()} {spec.schedule.at:%H:%M}"
    return f"{when} ({spec.competition_name})" if spec.competition_name else when
