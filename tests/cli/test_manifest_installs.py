"""manifest.yml has what installing into many workspaces needs: the OAuth redirect URL, the
scopes the install asks for, and the events that end or extend an install."""

from __future__ import annotations

from pathlib import Path

from bot.installs.oauth import BOT_SCOPES, REDIRECT_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def listed_under(key: str) -> list[str]:
    """The `- item` lines (comments dropped) right under `key:` in the manifest."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    items = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped.startswith("- "):
            break
        items.append(stripped[2:].split("#", 1)[0].strip())
    return items


def test_the_redirect_url_is_the_apps_oauth_redirect() -> None:
    assert listed_under("redirect_urls") == [f"https://pipeday.example.com{REDIRECT_PATH}"]


def test_the_install_asks_for_the_manifests_bot_scopes() -> None:
    assert listed_under("bot") == list(BOT_SCOPES)


def test_the_install_events_are_subscribed() -> None:
    events = listed_under("bot_events")
    for event in ("app_uninstalled", "tokens_revoked", "team_access_granted", "team_access_revoked"):
        assert event in events


def test_org_wide_installs_are_allowed() -> None:
    settings = [line.split("#")[0].strip() for line in MANIFEST.read_text(encoding="utf-8").splitlines()]
    assert "org_deploy_enabled: true" in settings
