"""Webhook sources: `pipeday source add|set|map|list|remove` and the lookup a delivery starts with.

Each source has an unguessable id (its URL's last segment), a signing secret, and optionally a
token for the vendor's API (for deliveries that carry only ids), all secrets stored encrypted
because checking a signature or calling an API needs the secret itself. Its `mapping` holds the
admin's changes to the adapter's event → activity type defaults.
"""

from __future__ import annotations

import ipaddress
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.adapters.base import Adapter
from bot.adapters.oauth_tokens import REFRESH_FORMAT, REFRESH_KINDS, NotARefreshToken, is_refreshable, parse_token
from bot.adapters.registry import KNOWN_KINDS, adapter_for, built_kinds, is_known
from bot.domain.activity_sources import require_own_name
from bot.domain.activity_types import ACTIVITY_TYPES, lookup_type
from bot.domain.deliveries import delete_deliveries
from bot.domain.directory import ensure_workspace
from bot.domain.errors import Conflict, NotFound
from bot.domain.secret_box import SecretBox
from bot.domain.text_input import require_plain_text
from models import WebhookSource

MAX_SECRET = 500
MAX_API_TOKEN = 4000
MAX_API_URL = 300  # webhook_sources.api_url
IGNORE = "none"  # `pipeday source map NAME EVENT none`: the event stores nothing

# Kinds whose signing secret the vendor makes (so `--secret` pastes theirs here, not the reverse).
VENDOR_SECRETS: dict[str, str] = {
    "hubspot": "your HubSpot app's client secret (the app's Auth page)",
    "salesloft": "the webhook subscription's callback token",
    "aircall": "the webhook's token from Aircall (GET https://api.aircall.io/v1/webhooks/{id} shows it)",
}


@dataclass(frozen=True)
class NewSource:
    id: str
    kind: str
    name: str
    secret: str  # shown once; stored only encrypted
    # The vendor made the secret (VENDOR_SECRETS); False for one Pipeday generated.
    secret_from_vendor: bool
    api_token_set: bool


@dataclass(frozen=True)
class EventMapping:
    event: str
    description: str
    type: str  # an activity type key; "" when the event is ignored
    default: str


def hook_path(kind: str, source_id: str) -> str:
    return f"/hooks/{kind}/{source_id}"


def require_adapter(kind: str) -> Adapter:
    """The built adapter for `kind`, or a Conflict saying what is built."""
    built = ", ".join(built_kinds())
    adapter = adapter_for(kind) if is_known(kind) else None
    if adapter is None:
        problem = (
            f"The {kind} adapter is not built yet." if kind in KNOWN_KINDS else f"There's no source kind {kind!r}."
        )
        raise Conflict(problem, f"Built so far: {built}.")
    return adapter


def add_source(
    session: Session,
    team_id: str,
    kind: str,
    name: str | None,
    box: SecretBox,
    *,
    secret: str | None = None,
    api_token: str | None = None,
    api_url: str | None = None,
) -> NewSource:
    """A new source of `kind`. `secret`: the vendor's own (Salesloft's callback token, Aircall's
    webhook token) instead of a generated one. `api_token`/`api_url`: for the vendor's API."""
    kind = kind.strip().lower()
    require_adapter(kind)
    # Not slash, home, …: a vendor source's name is its activity's source.
    cleaned = require_own_name(require_plain_text(name if name is not None else kind, "Source names"), "source name")
    if _named(session, team_id, cleaned) is not None:
        raise Conflict(f"There's already a source named {cleaned}.", "Pick another with --name, or remove that one.")
    chosen = _clean_secret(secret, "--secret", MAX_SECRET) if secret is not None else None
    token = _clean_api_token(kind, api_token) if api_token is not None else None
    url = _clean_api_url(api_url) if api_url is not None else None
    ensure_workspace(session, team_id)
    used = chosen if chosen is not None else secrets.token_urlsafe(32)
    source = WebhookSource(
        id=secrets.token_urlsafe(24),
        team_id=team_id,
        kind=kind,
        name=cleaned,
        secret_encrypted=box.encrypt(used),
        api_token_encrypted=box.encrypt(token) if token is not None else None,
        api_url=url,
    )
    session.add(source)
    session.flush()
    return NewSource(source.id, kind, cleaned, used, chosen is not None, token is not None)


def update_source(
    session: Session,
    team_id: str,
    name: str,
    box: SecretBox,
    *,
    secret: str | None = None,
    api_token: str | None = None,
    api_url: str | None = None,
) -> tuple[WebhookSource, list[str]]:
    """Replace a source's secret, API token or API URL (`""` clears the token or the URL);
    returns the source and what changed, in words (never the secrets themselves)."""
    source = named_source(session, team_id, name)
    changed = []
    if secret is not None:
        source.secret_encrypted = box.encrypt(_clean_secret(secret, "--secret", MAX_SECRET))
        changed.append("secret replaced")
    if api_token is not None:
        token = api_token.strip()
        source.api_token_encrypted = box.encrypt(_clean_api_token(source.kind, token)) if token else None
        changed.append("API token set" if token else "API token removed")
    if api_url is not None:
        source.api_url = _clean_api_url(api_url) if api_url.strip() else None
        changed.append(f"API URL {source.api_url}" if source.api_url else "API URL back to the vendor's")
    session.flush()
    return source, changed


def _clean_secret(value: str, option: str, limit: int) -> str:
    cleaned = require_plain_text(value, option).strip()
    if not cleaned or len(cleaned) > limit or " " in cleaned:
        raise Conflict(f"{option} is 1 to {limit} characters without spaces.")
    return cleaned


def _clean_api_token(kind: str, value: str) -> str:
    """A plain token, or (for kinds whose API renews tokens: Outreach) a refresh: token that
    can be read now rather than when a delivery needs it."""
    cleaned = _clean_secret(value, "--api-token", MAX_API_TOKEN)
    if not is_refreshable(cleaned):
        return cleaned
    if kind not in REFRESH_KINDS:
        raise Conflict(
            f"A token that renews itself (refresh:…) works only for {', '.join(sorted(REFRESH_KINDS))} sources, "
            f"not {kind}: Pipeday would send your app's client secret to {kind}'s API.",
            f"Give {kind}'s API token itself.",
        )
    try:
        token = parse_token(cleaned)
    except NotARefreshToken as error:
        raise Conflict(
            f"--api-token can't be read as a refresh token: {error}.", f"Write it as {REFRESH_FORMAT}."
        ) from None
    redirect = token.redirect_uri if token is not None else None
    if redirect is not None and _scheme(redirect) not in ("https", "http"):
        raise Conflict(
            f"--api-token's REDIRECT_URI {redirect!r} isn't a URL.",
            f"Write it as {REFRESH_FORMAT}, REDIRECT_URI being the one your Outreach app registered (https://…).",
        )
    return cleaned


def _scheme(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).scheme
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""


def _clean_api_url(value: str) -> str:
    """An https URL; http only for this machine (a local stand-in for the vendor): the API token
    goes with every call, and over http anyone on the way could read it."""
    cleaned = require_plain_text(value, "--api-url").strip().rstrip("/")
    try:
        parts = urllib.parse.urlsplit(cleaned)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        scheme, host = "", None
    if scheme not in ("https", "http") or not host or len(cleaned) > MAX_API_URL or " " in cleaned:
        raise Conflict(f"--api-url is an https URL of at most {MAX_API_URL} characters, e.g. https://api.hubapi.com.")
    if scheme == "http" and not _is_loopback(host):
        raise Conflict(
            f"--api-url must be https: {cleaned} would send the API token unencrypted.",
            "http is accepted only for this machine (http://127.0.0.1:PORT, http://localhost:PORT), e.g. a test stand-in.",
        )
    return cleaned


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def list_sources(session: Session, team_id: str) -> list[WebhookSource]:
    return list(
        session.scalars(select(WebhookSource).where(WebhookSource.team_id == team_id).order_by(WebhookSource.name))
    )


def remove_source(session: Session, team_id: str, name: str) -> tuple[WebhookSource, int]:
    """The removed source and how many of its deliveries went with it."""
    found = named_source(session, team_id, name)
    removed = delete_deliveries(session, found.id)
    session.delete(found)
    return found, removed


def named_source(session: Session, team_id: str, name: str) -> WebhookSource:
    found = _named(session, team_id, name.strip())
    if found is None:
        raise NotFound(f"There's no source named {name}.", "`pipeday source list` shows them.")
    return found


def find_source(session: Session, kind: str, source_id: str) -> WebhookSource | None:
    return session.scalars(
        select(WebhookSource).where(WebhookSource.id == source_id, WebhookSource.kind == kind)
    ).first()


def source_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookSource)) or 0)


def effective_mapping(adapter: Adapter, changes: Mapping[str, str] | None) -> dict[str, str]:
    """The adapter's defaults with the admin's changes on top (changes to events the adapter
    no longer has are dropped)."""
    mapping = dict(adapter.default_mapping)
    mapping.update({event: kind for event, kind in (changes or {}).items() if event in adapter.events})
    return mapping


def source_events(session: Session, team_id: str, name: str) -> tuple[WebhookSource, list[EventMapping]]:
    """The source and each of its adapter's events with the type it stores now."""
    source = named_source(session, team_id, name)
    adapter = require_adapter(source.kind)
    current = effective_mapping(adapter, source.mapping)
    events = [
        EventMapping(event, description, current.get(event, ""), adapter.default_mapping.get(event, ""))
        for event, description in adapter.events.items()
    ]
    return source, events


def map_event(session: Session, team_id: str, name: str, event: str, type_word: str) -> tuple[str, str]:
    """Make `event` store `type_word` (an activity type or alias; `none` ignores the event).
    Returns the type before and after ("" for ignored). Nothing changes on a bad event or type."""
    source, events = source_events(session, team_id, name)
    by_event = {mapping.event: mapping for mapping in events}
    if event not in by_event:
        listed = ", ".join(by_event) or "none: its items name their own type"
        raise Conflict(f"{source.kind} has no event {event!r}.", f"Its events: {listed}.")
    word = type_word.strip().lower()
    if word == IGNORE:
        new_type = ""
    else:
        found = lookup_type(word)
        if found is None:
            raise Conflict(
                f"{type_word!r} isn't an activity type.",
                f"Types: {', '.join(ACTIVITY_TYPES)}, or {IGNORE} to ignore the event.",
            )
        new_type = found.key
    before = by_event[event]
    changes = {key: value for key, value in (source.mapping or {}).items() if key != event}
    if new_type != before.default:
        changes[event] = new_type
    # A JSON column doesn't see changes made in place: assign a new dict (or None).
    source.mapping = changes or None
    session.flush()
    return before.type, new_type


def mapping_changes(source: WebhookSource) -> dict[str, str]:
    """The admin's changes to the defaults, as stored."""
    return dict(source.mapping or {})


@dataclass(frozen=True)
class SourceProblem:
    team_id: str
    name: str
    problem: str
    fix: str


# What a kind that needs a token for some deliveries can still do without one (doctor and
# `source add` say so, so an admin who only uses that part isn't told to fix nothing).
TOKENLESS_USE: Mapping[str, str] = {
    "hubspot": " (workflow webhooks that send owner_email don't need one)",
}


def source_problems(session: Session, public_url_set: bool) -> list[SourceProblem]:
    """Sources that can't work as configured: a kind that fetches from the vendor's API with no
    token, and kinds that sign the full URI without PIPEDAY_PUBLIC_URL (`pipeday doctor`)."""
    problems = []
    for source in session.scalars(select(WebhookSource).order_by(WebhookSource.team_id, WebhookSource.name)):
        adapter = adapter_for(source.kind) if is_known(source.kind) else None
        if adapter is None:
            problems.append(
                SourceProblem(
                    source.team_id, source.name, f"its kind {source.kind} isn't built", "Remove it or upgrade Pipeday."
                )
            )
            continue
        if adapter.needs_api_token and source.api_token_encrypted is None:
            problems.append(
                SourceProblem(
                    source.team_id,
                    source.name,
                    f"{source.kind} deliveries that carry only ids need an API token, and it has none"
                    + TOKENLESS_USE.get(source.kind, ""),
                    f"pipeday source set {source.name} --api-token T, then pipeday ingest retry --source {source.name}",
                )
            )
        if source.kind in SIGNS_THE_URI and not public_url_set:
            problems.append(
                SourceProblem(
                    source.team_id,
                    source.name,
                    f"{source.kind} signs the full URL it calls, and PIPEDAY_PUBLIC_URL isn't set",
                    "Set PIPEDAY_PUBLIC_URL to this app's public base URL (https://pipeday.example.com).",
                )
            )
    return problems


# Vendors whose signature covers the full public URI: without PIPEDAY_PUBLIC_URL it can't be checked.
SIGNS_THE_URI = frozenset({"hubspot"})


def _named(session: Session, team_id: str, name: str) -> WebhookSource | None:
    return session.scalars(
        select(WebhookSource).where(WebhookSource.team_id == team_id, WebhookSource.name == name)
    ).first()
