"""`pipeday doctor`: what is wrong with this install, and how to fix each thing.

Each check returns Findings and never raises, so one broken thing never hides the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.domain.competition_definitions import list_competitions
from bot.domain.directory import list_regions
from bot.domain.prizes import current_wheel, list_prizes
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import source_count
from bot.settings import ConfigurationError, Settings
from bot.slack.channels import ChannelCheck, ChannelFacts, judge_channel, slack_error_code
from models import Competition, Member, Region
from models.db import current_revision, head_revision, is_known_revision
from models.sqlite_files import missing_sqlite_file

# Keep in step with manifest.yml's oauth_config.scopes.bot.
REQUIRED_SCOPES: dict[str, str] = {
    "commands": "the /pg slash command",
    "chat:write": "posting standings, results and DMs",
    "chat:write.public": "posting in a region channel the bot hasn't been invited to",
    "im:write": "DMing prize winners and CSV exports",
    "users:read": "display names and recognising workspace admins",
    "users:read.email": "matching activity from other tools to people by email (users.lookupByEmail)",
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


def check_secrets(session: Session, settings: Settings) -> list[Finding]:
    """Webhook sources' secrets are stored encrypted: without PIPEDAY_SECRET_KEY (or with one
    that isn't a Fernet key) none of their deliveries can be verified."""
    sources = source_count(session)
    if not sources:
        return []
    try:
        SecretBox(settings.secret_key)
    except ConfigurationError as error:
        detail, _, fix = str(error).partition("\n")
        return [Finding("secrets", False, f"{sources} webhook source(s) exist but {detail}", fix.strip() or None)]
    return [Finding("secrets", True, f"PIPEDAY_SECRET_KEY set for {sources} webhook source(s)")]


def check_database(engine: Engine) -> list[Finding]:
    """Reachable and migrated to head. A SQLite file that isn't there is reported, never created
    (connecting would create an empty one)."""
    missing = missing_sqlite_file(engine.url)
    if missing is not None:
        return [Finding("database", False, f"no database at {missing} yet", "Run `pipeday db upgrade`.")]
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
                (
                    "the database has no Pipeday tables yet"
                    if current is None
                    else f"schema at {current}, this version needs {head}"
                ),
                "Run `pipeday db upgrade`.",
            )
        )
    else:
        found.append(Finding("migrations", True, f"schema up to date ({head})"))
    return found


@dataclass(frozen=True)
class SlackStatus:
    findings: list[Finding]
    team_id: str | None = None  # the token's workspace, when auth.test answered
    granted: frozenset[str] = frozenset()


def check_slack(client: WebClient) -> SlackStatus:
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        return SlackStatus([Finding("slack token", False, f"auth.test failed: {code}", _token_fix(code))])
    except OSError as error:
        return SlackStatus(
            [Finding("slack token", False, f"couldn't reach Slack: {error}", "Check the network or SLACK_API_URL.")]
        )
    found = [
        Finding(
            "slack token",
            True,
            f"bot {response.get('user')} in workspace {response.get('team')} ({response.get('team_id')})",
        )
    ]
    granted = frozenset(_scopes(response.headers.get("x-oauth-scopes")))
    missing = [
        Finding("slack scopes", False, f"missing scope {scope} (needed for {why})", REINSTALL)
        for scope, why in REQUIRED_SCOPES.items()
        if scope not in granted
    ]
    findings = found + (missing or [Finding("slack scopes", True, "all required scopes granted")])
    return SlackStatus(findings, str(response.get("team_id") or "") or None, granted)


def _scopes(header: str | None) -> list[str]:
    return [scope.strip() for scope in (header or "").split(",") if scope.strip()]


def _token_fix(code: str) -> str:
    if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
        return "SLACK_BOT_TOKEN is not valid: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions again (reinstall if it was revoked)."
    return "See https://api.slack.com/methods/auth.test for this error."


# --- the setup: regions, channels, competitions, prizes, managers ----------------------------

RegionChannelCheck = Callable[[Region], Finding]  # one region's channel, asked of Slack

_ADD_REGION = "Add one: `pipeday region add AMER --tz America/New_York --channel C0123456789`."
_MANAGER_ROLES = ("manager", "admin")


def check_setup(
    session: Session,
    team_ids: Iterable[str],
    configured_admins: Iterable[str],
    channel_check: RegionChannelCheck | None = None,
) -> list[Finding]:
    """What a workspace needs before its first competition day, each gap with its fix.

    `team_ids` are the workspaces to check (the token's, or every one in the database); none
    means nothing has been set up at all. `channel_check` asks Slack about each region's channel
    (only with a token); without it, only a missing channel is reported.
    """
    teams = list(team_ids)
    admins = frozenset(configured_admins)
    if not teams:
        return (
            _check_regions([], "", None) + _check_competitions(session, None, [], "") + _check_managers([], admins, "")
        )
    findings: list[Finding] = []
    for team_id in teams:
        suffix = f" in {team_id}" if len(teams) > 1 else ""
        findings += _check_regions(list_regions(session, team_id), suffix, channel_check)
        findings += _check_competitions(session, team_id, list_competitions(session, team_id), suffix)
        findings += _check_managers(_manager_ids(session, team_id), admins, suffix)
    return findings


def _check_regions(regions: list[Region], suffix: str, check: RegionChannelCheck | None) -> list[Finding]:
    if not regions:
        return [Finding("regions", False, f"no regions yet{suffix}", _ADD_REGION)]
    findings = [Finding("regions", True, f"{len(regions)} region(s){suffix}: {', '.join(r.name for r in regions)}")]
    for region in regions:
        if not region.channel_id:
            findings.append(
                Finding(
                    f"region {region.name}",
                    False,
                    "no channel: kickoffs, standings, results and summaries have nowhere to go",
                    f"Set one: `pipeday region set {region.name} --channel C0123456789` (the id is at the bottom "
                    "of the channel's About tab).",
                )
            )
        elif check is not None:
            findings.append(check(region))
    return findings


def _check_competitions(
    session: Session, team_id: str | None, competitions: list[Competition], suffix: str
) -> list[Finding]:
    names = ", ".join(c.name for c in competitions)
    if competitions:
        found = [Finding("competitions", True, f"{len(competitions)} competition(s){suffix}: {names}")]
    else:
        found = [
            Finding(
                "competitions",
                False,
                f"no competitions yet{suffix}",
                "Add the classics (Connect Day on Thursdays, Booking Day on Wednesdays): "
                "`pipeday competition add-classics`, or your own with `pipeday competition add`.",
            )
        ]
    wheel = current_wheel(session, team_id) if team_id else []
    if wheel:
        return [*found, Finding("prize wheel", True, f"{len(wheel)} prize(s) on the wheel{suffix}")]
    # Prizes that are still listed but off the wheel are out of stock (or weightless).
    off_the_wheel = [prize.name for prize in list_prizes(session, team_id)] if team_id else []
    detail = f"no prizes on the wheel{suffix}"
    if competitions:
        detail += f", so the winners of {names} have nothing to spin for"
    fix = 'Add one: `pipeday prize add "Cowboy boots" --stock 3`'
    if off_the_wheel:
        detail += f" ({', '.join(off_the_wheel)}: out of stock)"
        fix += f", or restock one: `pipeday prize restock {_quoted(off_the_wheel[0])} 5`"
    return [*found, Finding("prize wheel", False, detail, fix + ".")]


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _manager_ids(session: Session, team_id: str) -> list[str]:
    statement = select(Member.user_id).where(Member.team_id == team_id, Member.role.in_(_MANAGER_ROLES))
    return list(session.scalars(statement))


def _check_managers(managers: list[str], configured_admins: frozenset[str], suffix: str) -> list[Finding]:
    if managers or configured_admins:
        count = len(set(managers) | configured_admins)
        return [Finding("managers", True, f"{count} manager(s) or admin(s){suffix}")]
    return [
        Finding(
            "managers",
            False,
            f"no manager{suffix}: only Slack workspace admins and owners can close days, spin the wheel and set goals",
            "Make your sales manager one: `pipeday role set U0123456789 manager` (their member id is in their "
            "Slack profile → ⋮ → Copy member ID).",
        )
    ]


def slack_channel_check(client: WebClient, granted: frozenset[str]) -> RegionChannelCheck:
    """A RegionChannelCheck asking conversations.info whether Pipeday can post in a region's channel.

    Doctor only looks: it never joins. A public channel the bot isn't in is fine while
    chat:write.public is granted (posts work, and uploads join the channel first).
    """

    def check(region: Region) -> Finding:
        label, channel_id = f"region {region.name}", str(region.channel_id)
        move = f"Or point the region at another channel: `pipeday region set {region.name} --channel C…`."
        try:
            info = client.conversations_info(channel=channel_id)
        except SlackApiError as error:
            return Finding(label, False, _sentence(judge_channel(channel_id, None, slack_error_code(error))), move)
        except OSError as error:
            return Finding(label, False, f"couldn't reach Slack to check channel {channel_id}: {error}")
        facts = ChannelFacts.from_info(info.get("channel") or {"id": channel_id})
        verdict = judge_channel(channel_id, facts)
        where = f"{facts.shown} ({channel_id})" if facts.name else channel_id
        if verdict.usable:
            return Finding(label, True, f"channel {where}, Pipeday is a member")
        if verdict.verdict == "join":
            if "chat:write.public" in granted:
                return Finding(label, True, f"channel {where}: public, Pipeday posts there and joins it to upload")
            return Finding(
                label,
                False,
                f"Pipeday isn't in {where} and lacks chat:write.public to post there anyway",
                f"Type `/invite @Pipeday` in that channel. {move}",
            )
        return Finding(label, False, _sentence(verdict), move)

    return check


def _sentence(verdict: ChannelCheck) -> str:
    """bot.slack.channels' message as a finding's detail, which has no full stop."""
    return verdict.message.rstrip(".")
