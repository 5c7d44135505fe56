"""The lines `pipeday jobs list` prints: each scheduled job with its next run, and every post
that did not go out with what happens next or what to run (`needs_attention`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the scheduler and the database layer load when a command runs, not for --help
    from sqlalchemy.orm import Session

    from bot.posting.sent_log import Slot
    from bot.scheduler.specs import JobSpec
    from models import Region, SentLog, Spin

ATTENTION_LOOKBACK = timedelta(days=14)
# What happens next to a sent-log row in each status that means "not posted (yet)".
NEXT_STEP = {
    "failed": "the clock retries it on its next tick",
    "skipped": "never posted (the clock was down past the grace period)",
    "abandoned": "given up",
}


def needs_attention(session: Session, team: str | None, now: datetime) -> list[str]:
    """Every post that failed, was given up or is stuck, and what will happen to it or what to run."""
    from sqlalchemy import select

    from bot.domain.spins import count_unannounced_spins, unannounced_spins
    from bot.posting import sent_log
    from bot.posting.spin_announcements import SWEEP_WITHIN
    from bot.scheduler.jobs import CLAIM_LEASE
    from models import Region

    regions = {region.id: region for region in session.scalars(select(Region))}
    lines = []
    for row in sent_log.unsent_rows(session, keys_after=(now - ATTENTION_LOOKBACK).date()):
        if team is not None and row.team_id != team:
            continue
        if row.status == "claimed" and now - row.claimed_at < CLAIM_LEASE:
            continue  # being posted right now
        lines.append(_unsent_line(row, regions.get(row.region_id)))
    # As far back as the clock's sweep looks; older ones are counted, not listed one by one.
    for spin in unannounced_spins(session, spun_after=now - SWEEP_WITHIN):
        if team is None or spin.team_id == team:
            lines.append(_unannounced_line(spin, now))
    older = count_unannounced_spins(session, spun_at_or_before=now - SWEEP_WITHIN, team_id=team)
    if older:
        lines.append(
            f"! {older} spin(s) from before {now - SWEEP_WITHIN:%Y-%m-%d %H:%M} UTC never fully announced "
            "(not listed; `pipeday prize awards` shows them) — pipeday spin announce SPIN_ID"
        )
    return lines


def _unsent_line(row: SentLog, region: Region | None) -> str:
    where = region.name if region else f"region {row.region_id}"
    what = f"{row.kind}{f' ({row.subject})' if row.subject else ''} in {where} for {row.local_date.isoformat()}"
    if row.status == "claimed":
        step = f"held by {row.claimed_by} since {row.claimed_at:%Y-%m-%d %H:%M} UTC; the clock takes it over"
    else:
        step = NEXT_STEP.get(row.status, row.status)
    line = f"! {row.status}: {what}, {row.attempts} attempt(s): {row.last_error or 'no error recorded'} — {step}"
    if row.status in ("skipped", "abandoned") and region is not None:
        local = row.scheduled_for.astimezone(ZoneInfo(region.tz))
        line += f"; to post it: pipeday jobs run {row.kind} --region {region.name} --at {local:%Y-%m-%dT%H:%M} --force"
    return line


def _unannounced_line(spin: Spin, now: datetime) -> str:
    from bot.posting.spin_announcements import ANNOUNCE_LEASE

    busy = spin.announce_claimed_at is not None and now - spin.announce_claimed_at < ANNOUNCE_LEASE
    state = "being announced now" if busy else (spin.announce_error or "not announced yet")
    return (
        f"! spin #{spin.id}: {spin.member.user_id} won {spin.prize_name} on {spin.spun_at:%Y-%m-%d %H:%M} UTC, "
        f"announcement incomplete ({state}) — pipeday spin announce {spin.id} (or the Spin button)"
    )


def job_line(spec: JobSpec, now: datetime, last: dict[Slot, SentLog]) -> str:
    from bot.domain.calendar_store import WEEKDAY_NAMES
    from bot.scheduler.timing import next_fire_utc

    zone = spec.schedule.zone
    upcoming = next_fire_utc(spec.schedule, now)
    local = upcoming.astimezone(zone)
    schedule = f"{WEEKDAY_NAMES[spec.schedule.weekday].capitalize()} {spec.schedule.at:%H:%M} {spec.schedule.tz}"
    row = last.get(spec.slot)
    previous = f"last: {row.status} {row.local_date.isoformat()}" if row else "last: never"
    state = "" if spec.enabled else "  [off]"
    return (
        f"{spec.job_id}  {spec.describe()}  every {schedule}  "
        f"next: {local:%a %Y-%m-%d %H:%M %Z} = {upcoming:%Y-%m-%d %H:%M} UTC  {previous}{state}"
    )
