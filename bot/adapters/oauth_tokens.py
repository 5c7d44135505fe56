"""An API token that renews itself: OAuth 2.0's refresh grant, as Outreach uses it.

Outreach's access tokens last two hours (`expires_in: 7200`). Instead of a bare access token,
`--api-token` can take what renews one:

    refresh:CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN[:REDIRECT_URI]

(the Outreach app's id and secret, a refresh token from its OAuth flow, and the redirect URI
the app registered, which Outreach's token endpoint may ask for). When the vendor answers
401, or before the first call, the API asks `POST {api}/oauth/token` with
`grant_type=refresh_token` for a new access token, and Outreach answers with a new refresh
token too: both are then stored, sealed like every other secret, as `oauth2:{json}` (what
`RefreshableToken.stored()` gives and `parse_token` reads back).

Two runs of one source may find its access token expired at once, and a refresh token works
once: so a renewal happens under a `RenewalGuard` (bot/ingest/api_tokens.py: a lock per source,
in this process and in the database), which first reads the token stored now. A run whose
token was renewed meanwhile by another takes that one instead of spending a refresh token
nobody holds any more.

Pure: no I/O here; bot/adapters/vendor_api.py makes the request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.adapters.base import TokenRefused

REFRESH_PREFIX = "refresh:"
STORED_PREFIX = "oauth2:"
TOKEN_PATH = "/oauth/token"  # Outreach's token endpoint, on its API's host
# The source kinds whose API has that token endpoint: a refresh: token on any other kind would
# send the app's client secret to an endpoint that isn't one.
REFRESH_KINDS = frozenset({"outreach"})
REFRESH_FORMAT = "refresh:CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN[:REDIRECT_URI]"


class NotARefreshToken(ValueError):
    """A token that starts like a refreshable one but can't be read as one."""


@dataclass(frozen=True)
class RefreshableToken:
    client_id: str
    client_secret: str
    refresh_token: str
    redirect_uri: str | None = None
    access_token: str | None = None

    def refresh_form(self) -> dict[str, str]:
        """The token endpoint's form fields for a refresh."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        if self.redirect_uri:
            form["redirect_uri"] = self.redirect_uri
        return form

    def renewed(self, answer: Any) -> RefreshableToken:
        """This token after the endpoint's answer: its access token, and its refresh token when
        it sent one (Outreach does; a provider that keeps the old one may not)."""
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("access_token"), str)
            or not answer["access_token"]
        ):
            raise NotARefreshToken("the token endpoint's answer has no access_token")
        refresh = answer.get("refresh_token")
        return replace(
            self,
            access_token=answer["access_token"],
            refresh_token=refresh if isinstance(refresh, str) and refresh else self.refresh_token,
        )

    def stored(self) -> str:
        fields = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "redirect_uri": self.redirect_uri,
            "access_token": self.access_token,
        }
        return STORED_PREFIX + json.dumps({k: v for k, v in fields.items() if v is not None}, separators=(",", ":"))


def is_refreshable(token: str | None) -> bool:
    return token is not None and token.startswith((REFRESH_PREFIX, STORED_PREFIX))


def parse_token(token: str | None) -> RefreshableToken | None:
    """The refreshable token `token` holds, or None for a plain bearer token."""
    if token is None or not is_refreshable(token):
        return None
    if token.startswith(REFRESH_PREFIX):
        parts = token.removeprefix(REFRESH_PREFIX).split(":", 3)
        if len(parts) < 3 or not all(parts[:3]):
            raise NotARefreshToken(f"write it as {REFRESH_FORMAT}")
        redirect = parts[3] if len(parts) == 4 and parts[3] else None
        return RefreshableToken(parts[0], parts[1], parts[2], redirect)
    try:
        fields = json.loads(token.removeprefix(STORED_PREFIX))
        return RefreshableToken(
            str(fields["client_id"]),
            str(fields["client_secret"]),
            str(fields["refresh_token"]),
            fields.get("redirect_uri"),
            fields.get("access_token"),
        )
    except (ValueError, TypeError, KeyError):
        raise NotARefreshToken("the stored OAuth token can't be read: set it again with --api-token") from None


class RenewedTokenLost(TokenRefused):
    """The vendor renewed the token (spending the stored refresh token) but storing the new one
    failed: only a new token from the admin helps now."""


class RenewalTurn(Protocol):
    """One run's turn to renew a source's token, while no other run of it can."""

    def current(self) -> str | None:
        """The source's token as stored now (plain text), read afresh."""

    def keep(self, token: str) -> None:
        """Store `token` (its stored form) as the source's token; RenewedTokenLost if it can't."""


RenewalGuard = Callable[[], AbstractContextManager[RenewalTurn]]
