"""`pipeday jobs run … --preview`: what a scheduled post would say, built without posting it.

The content is built with the same builders and domain functions the posts use, in a session
the caller rolls back: building a competition post may create that day's row, the results
close the day, the goals kickoff may step the ramp, and none of that may outlive a preview.
No Web API client is involved at all, so nothing can reach Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.common import Message
from bot.blocks.competition import kickoff_message, last_call_message
from bot.blocks.summary import weekly_summary_message
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import DayKey, day_for_key
from bot.domain.competition_views import day_view
from bot.domain.directory import require_region_id
from bot.domain.summary import weekly_summary
from bot.posting.competition_posts import require_channel, results_content
from bot.posting.live_standings import live_standings_content
from bot.scheduler.goals_kickoff import goals_kickoff_content
from bot.scheduler.jobs import Firing
from models import Member
from models.competitions import DAY_OPEN


@dataclass(frozen=True)
class Preview:
    channel_id: str
    messages: list[Message]
    notes: list[str] = field(default_factory=list)


def preview_firing(session: Session, firing: Firing, now: datetime) -> Preview:
    """The post(s) `firing` would make at `now`. Writes to `session`: the caller rolls it back."""
    spec = firing.spec
    if spec.kind == "weekly_summary":
        region = require_region_id(session, spec.region_id)
        summary = weekly_summary(session, region, now, lift=True)  # as posted
        note = "The chart of the week goes in its thread."
        return Preview(require_channel(region), [weekly_summary_message(summary)], [note])
    if spec.kind == "goals_kickoff":
        channel, content = goals_kickoff_content(session, spec.region_id, firing.local_date, now)
        return Preview(channel, [content])
    assert spec.competition_id is not None, f"{spec.kind} needs a competition"
    day = day_for_key(session, DayKey(spec.team_id, spec.region_id, spec.competition_id, firing.local_date))
    channel = require_channel(day.region)
    if spec.kind == "kickoff":
        live = live_standings_content(session, day, now)
        notes = ["The second message is the live standings, edited through the day."]
        return Preview(channel, [kickoff_message(day_view(day)), live], notes)
    if spec.kind == "standings":
        return Preview(channel, [live_standings_content(session, day, now)], ["An edit of the live standings."])
    if spec.kind == "last_call":
        minutes_left = max(1, round((day.window_end - now) / timedelta(minutes=1)))
        return Preview(channel, [last_call_message(day_view(day), day_standings(session, day), minutes_left)])
    if spec.kind == "results":
        if day.status == DAY_OPEN:
            notes = ["The wheel commitment is a stand-in: the real one is made when the day closes."]
        else:
            notes = ["The day is closed already: the results are not posted again."]
        close_day(session, day, now, "preview")
        return Preview(channel, [results_content(session, day, now)], notes)
    raise ValueError(f"no preview for {spec.kind}")


def member_names(session: Session, team_id: str) -> dict[str, str]:
    """Slack user ids → names, so mentions in a preview read as they do in Slack."""
    rows = session.execute(select(Member.user_id, Member.display_name).where(Member.team_id == team_id))
    return {user_id: name for user_id, name in rows}
