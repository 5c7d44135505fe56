"""`pipeday workspace list` in words: each workspace's install, state and region count, and the
org-wide installs waiting for their admin to add them to workspaces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.installs.lifecycle import ACTIVE, PURGED, list_installs
from models import Region, WorkspaceInstall
from models.installations import slack_installations


def install_lines(session: Session) -> list[str]:
    counted = session.execute(select(Region.team_id, func.count()).group_by(Region.team_id))
    regions = {str(team_id): int(count) for team_id, count in counted}
    installs = list_installs(session)
    lines = [_line(install, regions.get(install.team_id, 0)) for install in installs]
    served_orgs = {install.enterprise_id for install in installs if install.org_install}
    for enterprise_id, name in _org_wide_installs(session):
        if enterprise_id not in served_orgs:
            lines.append(
                f"{enterprise_id:<12} {name or '':<24} org-wide install, no workspace added yet "
                "(an org admin adds Pipeday to workspaces in the org's app settings)"
            )
    return lines


def _line(install: WorkspaceInstall, region_count: int) -> str:
    how = f"org-wide ({install.enterprise_id})" if install.org_install else "own install"
    regions = f"{region_count} region{'' if region_count == 1 else 's'}"
    line = f"{install.team_id:<12} {install.team_name or '':<24} {install.state:<15} {how:<22} {regions}"
    if install.state == ACTIVE:
        line += f", installed {_day(install.installed_at)}"
        if install.token_error:
            line += f"; token refresh failed {_day(install.token_error_at)}: {install.token_error}"
    elif install.state == PURGED:
        line += f", purged {_day(install.purged_at)}"
    else:
        line += f", removed {_day(install.removed_at)}, data purged on {_day(install.purge_after)}"
    return line


def _org_wide_installs(session: Session) -> list[tuple[str, str | None]]:
    c = slack_installations.c
    query = (
        select(c.enterprise_id, func.max(c.enterprise_name))
        .where(c.is_enterprise_install.is_(True), c.enterprise_id.is_not(None))
        .group_by(c.enterprise_id)
        .order_by(c.enterprise_id)
    )
    return [(str(enterprise_id), name) for enterprise_id, name in session.execute(query)]


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "?"
