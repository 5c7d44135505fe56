"""Refreshing rotating tokens before they expire (the clock's tick runs this).

With token rotation on (the app's settings), Slack's bot tokens expire after 12 hours and a
refresh token buys the next one (`oauth.v2.access` with `grant_type=refresh_token`; the new
answer carries a new refresh token). The clock refreshes every install whose token expires
within REFRESH_AHEAD, so a token is always fresh when a post or a request needs it. Web
workers only refresh as a last resort, WEB_REFRESH_MINUTES before expiry (Bolt's authorize:
bot/installs/oauth.py), so the two rarely race for the same refresh token.

This is slack_sdk's TokenRotator's exchange, with the time passed in (`now`) rather than read
from the system clock, so tests run it at any hour. A refresh Slack refuses is logged and kept
on the workspace's install row (`token_error`) until one succeeds; `pipeday doctor` reports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store.models.bot import Bot
from sqlalchemy.orm import Session, sessionmaker

from bot.installs.lifecycle import record_refreshed, record_token_error, teams_of_install
from bot.installs.store import SealedInstallationStore

logger = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(hours=2)
WEB_REFRESH_MINUTES = 10


@dataclass(frozen=True)
class OAuthApp:
    """The app's credentials and a client for the OAuth methods (SLACK_API_URL applies)."""

    client_id: str
    client_secret: str
    client: WebClient


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)  # "T…" or "E…" (an org-wide install)
    failed: dict[str, str] = field(default_factory=dict)  # the same, with Slack's answer


def refresh_expiring_tokens(
    store: SealedInstallationStore,
    session_factory: sessionmaker[Session],
    app: OAuthApp,
    now: datetime,
    *,
    ahead: timedelta = REFRESH_AHEAD,
) -> RefreshReport:
    """Refresh every bot token that expires before `now + ahead`."""
    report = RefreshReport()
    for enterprise_id, team_id, org_wide in store.expiring(now + ahead):
        who = (enterprise_id if org_wide else team_id) or "?"
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide)
        if bot is None or not _expires_before(bot, now + ahead):
            continue
        try:
            refreshed = refresh_bot(bot, app, now)
        except (SlackApiError, SlackClientError, OSError, KeyError, ValueError) as error:
            detail = _describe(error)
            logger.error("refreshing the bot token of %s failed: %s; `pipeday doctor` shows it", who, detail)
            with session_factory.begin() as session:
                record_token_error(session, teams_of_install(session, enterprise_id, team_id, org_wide), detail, now)
            report.failed[who] = detail
            continue
        if refreshed is None:
            continue
        store.save_bot(refreshed)
        with session_factory.begin() as session:
            record_refreshed(session, teams_of_install(session, enterprise_id, team_id, org_wide), now)
        report.refreshed.append(who)
    if report.refreshed:
        logger.info("refreshed %d bot token(s): %s", len(report.refreshed), ", ".join(report.refreshed))
    return report


def refresh_bot(bot: Bot, app: OAuthApp, now: datetime) -> Bot | None:
    """A copy of `bot` with a new token, or None when Slack answered with something other than
    a bot token (what TokenRotator.perform_bot_token_rotation does too). Saved with
    `save_bot`, it updates the same slack_bots row (same installed_at): tokens are read from
    slack_bots everywhere (bot-only authorize, the clock, the CLI, doctor)."""
    answer = app.client.oauth_v2_access(
        client_id=app.client_id,
        client_secret=app.client_secret,
        grant_type="refresh_token",
        refresh_token=bot.bot_refresh_token,
    )
    if answer.get("token_type") != "bot":
        return None
    refreshed = Bot(**bot.to_dict_for_copying())
    refreshed.bot_token = str(answer["access_token"])
    refreshed.bot_refresh_token = answer.get("refresh_token") or bot.bot_refresh_token
    refreshed.bot_token_expires_at = int(now.timestamp()) + int(answer["expires_in"])
    return refreshed


def _expires_before(bot: Bot, when: datetime) -> bool:
    expires_at = bot.bot_token_expires_at
    return expires_at is not None and bot.bot_refresh_token is not None and expires_at < when.timestamp()


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error') or error.response.status_code}"
    return f"{type(error).__name__}: {error}"
