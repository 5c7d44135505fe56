"""`pipeday doctor`: what is wrong with this install, and how to fix each thing.

Each check returns Findings and never raises, so one broken thing never hides the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import ConfigurationError, Settings
from models.db import current_revision, head_revision, is_known_revision

# Keep in step with manifest.yml's oauth_config.scopes.bot.
REQUIRED_SCOPES: dict[str, str] = {
    "commands": "the /pg slash command",
    "chat:write": "posting standings, results and DMs",
    "chat:write.public": "posting in a region channel the bot hasn't been invited to",
    "im:write": "DMing prize winners and CSV exports",
    "users:read": "display names and recognising workspace admins",
    "files:write": "uploading the wheel GIF, weekly chart and CSV exports",
    "channels:history": "checking whether a post a crashed clock was sending went out, before sending it again",
    "groups:history": "the same check in private region channels",
    "channels:read": "checking a region's channel (`pipeday region add/set --channel`)",
    "groups:read": "the same check for a private region channel",
    "channels:join": "joining a public region channel before uploading the wheel GIF or chart there",
}
REINSTALL = "Add it under OAuth & Permissions → Scopes (or re-create the app from manifest.yml) and reinstall the app."


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str | None = None


def check_configuration(settings: Settings) -> list[Finding]:
    socket_mode = bool(settings.app_token)
    try:
        settings.require_slack(socket_mode=socket_mode)
    except ConfigurationError as error:
        detail, _, fix = str(error).partition("\n")
        return [Finding("configuration", False, detail, fix.strip() or None)]
    mode = "Socket Mode" if socket_mode else f"HTTP on port {settings.port}"
    return [Finding("configuration", True, f"Slack settings present ({mode})")]


def check_database(engine: Engine) -> list[Finding]:
    url = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        return [
            Finding(
                "database",
                False,
                f"{url} is unreachable: {error.__class__.__name__}: {error.args[0] if error.args else error}",
                "Check DATABASE_URL, that the server is running and that the credentials are right.",
            )
        ]
    found = [Finding("database", True, f"{url} answers")]
    head = head_revision()
    if current is not None and not is_known_revision(current):
        found.append(
            Finding(
                "migrations",
                False,
                f"schema at {current}, which a newer Pipeday wrote (this version goes up to {head})",
                f"Run the newer version of Pipeday, or run `pipeday db downgrade {head}` with that newer version first.",
            )
        )
    elif current != head:
        found.append(
            Finding(
                "migrations",
                False,
                f"schema at {current or 'nothing'}, this version needs {head}",
                "Run `pipeday db upgrade`.",
            )
        )
    else:
        found.append(Finding("migrations", True, f"schema up to date ({head})"))
    return found


def check_slack(client: WebClient) -> list[Finding]:
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        return [Finding("slack token", False, f"auth.test failed: {code}", _token_fix(code))]
    except OSError as error:
        return [Finding("slack token", False, f"couldn't reach Slack: {error}", "Check the network or SLACK_API_URL.")]
    found = [
        Finding(
            "slack token",
            True,
            f"bot {response.get('user')} in workspace {response.get('team')} ({response.get('team_id')})",
        )
    ]
    granted = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = [
        Finding("slack scopes", False, f"missing scope {scope} (needed for {why})", REINSTALL)
        for scope, why in REQUIRED_SCOPES.items()
        if scope not in granted
    ]
    return found + (missing or [Finding("slack scopes", True, "all required scopes granted")])


def _token_fix(code: str) -> str:
    if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
        return "SLACK_BOT_TOKEN is not valid: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions again (reinstall if it was revoked)."
    return "See https://api.slack.com/methods/auth.test for this error."
