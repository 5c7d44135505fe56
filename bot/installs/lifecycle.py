"""Which workspaces Pipeday serves (`workspace_installs`), and what removing one does.

A workspace is served through its own install or through its Enterprise Grid org's org-wide
install (`org_install`; an org admin grants the org-wide app to workspaces one by one:
team_access_granted). Uninstalling, revoking the tokens or taking a workspace's access away
stops serving it at once — its tokens are deleted by the caller, its scheduled posts stop
because the clock serves `active` workspaces only — and its data is kept RETENTION, then purged
(bot/installs/purge.py). Installing again within that time cancels the purge.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import WorkspaceInstall

ACTIVE = "active"
UNINSTALLED = "uninstalled"  # app_uninstalled
REVOKED = "revoked"  # tokens_revoked (the bot token)
ACCESS_REVOKED = "access_revoked"  # team_access_revoked: an org-wide app taken away from this workspace
PURGED = "purged"
REMOVED_STATES = (UNINSTALLED, REVOKED, ACCESS_REVOKED)
RETENTION = timedelta(days=30)
TOKEN_ERROR_CHARS = 300


def record_install(
    session: Session,
    team_id: str,
    now: datetime,
    *,
    enterprise_id: str | None = None,
    team_name: str | None = None,
    org_install: bool = False,
) -> WorkspaceInstall:
    """Serve `team_id` from now on (a new install, a reinstall, or an org's grant)."""
    row = session.get(WorkspaceInstall, team_id, with_for_update=True)
    if row is None:
        row = WorkspaceInstall(team_id=team_id)
        session.add(row)
    row.enterprise_id = enterprise_id
    row.org_install = org_install
    row.team_name = team_name or row.team_name
    row.state = ACTIVE
    row.installed_at = now
    row.removed_at = row.purge_after = row.purged_at = None
    row.token_error = row.token_error_at = None
    session.flush()
    return row


def note_org_member(session: Session, team_id: str, enterprise_id: str, now: datetime) -> bool:
    """A request from a workspace of an org with an org-wide install: serve it if nothing is
    known about it yet (team_access_granted may not have arrived, or came before Pipeday did).
    A workspace removed on purpose stays removed. True when this added it."""
    if session.get(WorkspaceInstall, team_id) is not None:
        return False
    record_install(session, team_id, now, enterprise_id=enterprise_id, org_install=True)
    return True


def mark_removed(session: Session, team_ids: Iterable[str], state: str, now: datetime) -> list[str]:
    """Stop serving these workspaces; their data is purged RETENTION from now. Returns those
    that were being served."""
    assert state in REMOVED_STATES, state
    removed = []
    for team_id in sorted(set(team_ids)):
        row = session.get(WorkspaceInstall, team_id, with_for_update=True)
        if row is None:
            row = WorkspaceInstall(team_id=team_id, installed_at=now, org_install=False)
            session.add(row)
        elif row.state != ACTIVE:
            continue  # already removed: the first removal's purge date stands
        row.state = state
        row.removed_at = now
        row.purge_after = now + RETENTION
        removed.append(team_id)
    session.flush()
    return removed


def org_team_ids(session: Session, enterprise_id: str, *, states: Iterable[str] = (ACTIVE,)) -> list[str]:
    """The workspaces served through an org's org-wide install."""
    query = select(WorkspaceInstall.team_id).where(
        WorkspaceInstall.enterprise_id == enterprise_id,
        WorkspaceInstall.org_install.is_(True),
        WorkspaceInstall.state.in_(list(states)),
    )
    return sorted(session.scalars(query))


def teams_of_install(session: Session, enterprise_id: str | None, team_id: str | None, org_wide: bool) -> list[str]:
    """The served workspaces one install's token is for: its workspace, or its org's."""
    if org_wide and enterprise_id:
        return org_team_ids(session, enterprise_id)
    return [team_id] if team_id else []


def served_team_ids(session: Session) -> set[str]:
    # Core on the session's connection: the clock asks every tick.
    query = select(WorkspaceInstall.team_id).where(WorkspaceInstall.state == ACTIVE)
    return set(session.connection().scalars(query))


def find_install(session: Session, team_id: str) -> WorkspaceInstall | None:
    return session.get(WorkspaceInstall, team_id)


def list_installs(session: Session) -> list[WorkspaceInstall]:
    return list(session.scalars(select(WorkspaceInstall).order_by(WorkspaceInstall.team_id)))


def due_purges(session: Session, now: datetime) -> list[str]:
    """Removed workspaces whose RETENTION is over."""
    query = select(WorkspaceInstall.team_id).where(
        WorkspaceInstall.state.in_(REMOVED_STATES), WorkspaceInstall.purge_after <= now
    )
    return sorted(session.scalars(query))


def mark_purged(session: Session, team_id: str, now: datetime) -> None:
    row = session.get(WorkspaceInstall, team_id)
    if row is None:
        row = WorkspaceInstall(team_id=team_id, installed_at=now, org_install=False)
        session.add(row)
        row.removed_at = now
    row.state = PURGED
    row.purge_after = None
    row.purged_at = now
    session.flush()


def record_refreshed(session: Session, team_ids: Iterable[str], now: datetime) -> None:
    for row in _rows(session, team_ids):
        row.refreshed_at = now
        row.token_error = row.token_error_at = None


def record_token_error(session: Session, team_ids: Iterable[str], error: str, now: datetime) -> None:
    """A refresh that failed: kept until the next one succeeds, for `pipeday doctor`."""
    for row in _rows(session, team_ids):
        row.token_error = error[:TOKEN_ERROR_CHARS]
        row.token_error_at = now


def _rows(session: Session, team_ids: Iterable[str]) -> list[WorkspaceInstall]:
    wanted = sorted(set(team_ids))
    if not wanted:
        return []
    return list(session.scalars(select(WorkspaceInstall).where(WorkspaceInstall.team_id.in_(wanted))))
