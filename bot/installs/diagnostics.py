"""`pipeday doctor` with many workspaces: who is installed, each install's token checked with
auth.test (with the scopes it was granted), token refreshes that failed, and removed
workspaces waiting for their purge. Each check returns Findings and never raises."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.diagnostics import REINSTALL, REQUIRED_SCOPES, Finding
from bot.installs.lifecycle import ACTIVE, REMOVED_STATES, list_installs
from bot.installs.store import SealedInstallationStore, TokenUnreadable

ClientFor = Callable[[str, str | None], WebClient]  # (token, the team an org-wide token acts in)

REINSTALL_THERE = "Install Pipeday in that workspace again (its install page: /slack/install)."
REFRESH_FIX = (
    "Check SLACK_CLIENT_ID/SLACK_CLIENT_SECRET; if Slack keeps refusing the refresh token "
    "(invalid_refresh_token), install Pipeday in that workspace again."
)


def check_installs(session: Session, store: SealedInstallationStore, client_for: ClientFor) -> list[Finding]:
    installs = list_installs(session)
    active = [install for install in installs if install.state == ACTIVE]
    removed = [install for install in installs if install.state in REMOVED_STATES]
    if not active:
        return [
            Finding(
                "installs",
                False,
                "no workspace has installed Pipeday yet",
                "Open /slack/install on this deployment (PIPEDAY_PUBLIC_URL) and add Pipeday to a workspace.",
            )
        ]
    org_wide = sum(1 for install in active if install.org_install)
    detail = f"{len(active)} workspace(s) served ({org_wide} through org-wide installs)"
    if removed:
        soonest = min(install.purge_after for install in removed if install.purge_after is not None)
        detail += f"; {len(removed)} removed, the first purged on {soonest:%Y-%m-%d}"
    findings = [Finding("installs", True, detail)]
    for install in active:
        where = install.team_id + (f" (org {install.enterprise_id})" if install.org_install else "")
        try:
            bot = store.bot_on(
                session.connection(),
                enterprise_id=install.enterprise_id,
                team_id=install.team_id,
                org_wide=install.org_install,
            )
        except TokenUnreadable as error:
            findings.append(Finding("install token", False, f"{where}: {error}", None))
            continue
        if bot is None or not bot.bot_token:
            findings.append(Finding("install token", False, f"{where}: no bot token is stored", REINSTALL_THERE))
            continue
        client = client_for(bot.bot_token, install.team_id if install.org_install else None)
        findings += _auth_test(where, client)
        if install.token_error:
            when = f"{install.token_error_at:%Y-%m-%d %H:%M} UTC" if install.token_error_at else "recently"
            findings.append(
                Finding(
                    "token refresh",
                    False,
                    f"{where}: refreshing its token failed {when}: {install.token_error}",
                    REFRESH_FIX,
                )
            )
    return findings


def _auth_test(where: str, client: WebClient) -> list[Finding]:
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "unknown_error")
        return [Finding("install token", False, f"{where}: auth.test failed: {code}", REINSTALL_THERE)]
    except (SlackClientError, OSError) as error:
        return [
            Finding(
                "install token", False, f"{where}: couldn't reach Slack: {error}", "Check the network or SLACK_API_URL."
            )
        ]
    granted = {scope.strip() for scope in (response.headers.get("x-oauth-scopes") or "").split(",") if scope.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if missing:
        return [Finding("install token", False, f"{where}: token works but lacks {', '.join(missing)}", REINSTALL)]
    return [Finding("install token", True, f"{where}: auth.test ok, as bot {response.get('user_id')}")]
