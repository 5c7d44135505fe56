"""Installs in the Slack stub: OAuth codes, `oauth.v2.access` (a code, or a refresh token for
rotating tokens), `auth.test` for each issued token, `auth.revoke`, and refusing revoked or
expired tokens everywhere, as Slack does.

A test plays Slack's side of an install: `grant(...)` is what Slack does when someone clicks
"Allow" (it returns the code Slack puts in the redirect), and `uninstall(...)` revokes an
install's tokens. Tokens the stub never issued keep answering as the stub's own workspace, so
tests with one `xoxb-…` token behave as before.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.devtools.slack_stub.http import bearer_token

# Methods called without a bot token: the app's own credentials (HTTP Basic) instead.
TOKENLESS_METHODS = frozenset({"oauth.v2.access"})
DEFAULT_EXPIRES_IN = 12 * 3600  # rotating tokens last 12 hours


@dataclass(frozen=True)
class Grant:
    """One install: a workspace, or an Enterprise Grid org (`org_wide`), and its bot."""

    team_id: str | None
    team_name: str | None
    enterprise_id: str | None
    enterprise_name: str | None
    org_wide: bool
    bot_user_id: str
    bot_id: str
    rotating: bool
    expires_in: int
    scopes: tuple[str, ...]

    @property
    def key(self) -> str:
        return (self.enterprise_id or "") + ":" + ("" if self.org_wide else self.team_id or "")


@dataclass(frozen=True)
class IssuedToken:
    grant: Grant
    expires_at: float | None
    revoked: bool = False


class OAuthMethods:
    """Mixed into SlackStub; `_init_oauth()` runs in its __init__."""

    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    scopes: list[str]
    _cond: threading.Condition

    def _init_oauth(self) -> None:
        # The app's credentials oauth.v2.access accepts (set with oauth_app()).
        self.client_id: str | None = None
        self.client_secret: str | None = None
        # What "now" is for token expiry; a test's fake clock can stand in.
        self.token_clock: Callable[[], float] = time.time
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._refresh_tokens: dict[str, Grant] = {}
        self._oauth_counter = 0
        self.refused_token_calls: list[tuple[str, str]] = []  # (method, Slack's error)

    # -- playing Slack's side ----------------------------------------------------------------

    def oauth_app(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret

    def grant(
        self,
        team_id: str | None = None,
        *,
        team_name: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        org_wide: bool = False,
        bot_user_id: str | None = None,
        rotating: bool = False,
        expires_in: int = DEFAULT_EXPIRES_IN,
    ) -> str:
        """Someone allowed the install: the code Slack adds to the redirect URL."""
        if org_wide and not enterprise_id:
            raise ValueError("an org-wide install needs enterprise_id")
        if not org_wide and not team_id:
            raise ValueError("a workspace install needs team_id")
        name = team_id or enterprise_id or "?"
        grant = Grant(
            team_id=None if org_wide else team_id,
            team_name=None if org_wide else (team_name or f"Workspace {team_id}"),
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name or (f"Org {enterprise_id}" if enterprise_id else None),
            org_wide=org_wide,
            bot_user_id=bot_user_id or f"U_BOT_{name}",
            bot_id=f"B_{name}",
            rotating=rotating,
            expires_in=expires_in,
            scopes=tuple(self.scopes),
        )
        code = self._next_oauth_id("code")
        with self._cond:
            self._codes[code] = grant
        return code

    def uninstall(self, team_id: str | None = None, *, enterprise_id: str | None = None) -> int:
        """Slack revokes every token of an install (what an uninstall does); returns how many."""
        count = 0
        with self._cond:
            for token, issued in list(self._tokens.items()):
                grant = issued.grant
                mine = grant.team_id == team_id if team_id else grant.org_wide and grant.enterprise_id == enterprise_id
                if mine and not issued.revoked:
                    self._tokens[token] = replace(issued, revoked=True)
                    count += 1
        return count

    def tokens_of(self, team_id: str | None = None, *, enterprise_id: str | None = None) -> list[str]:
        """Tokens issued to an install, oldest first (revoked ones too)."""
        with self._cond:
            return [
                token
                for token, issued in self._tokens.items()
                if (team_id and issued.grant.team_id == team_id)
                or (enterprise_id and issued.grant.org_wide and issued.grant.enterprise_id == enterprise_id)
            ]

    def team_of_call(self, headers: dict[str, str], args: dict[str, Any]) -> str | None:
        """The workspace a call acted in: its token's, or for an org-wide token the `team_id`
        it passed. None for a token the stub didn't issue."""
        token = bearer_token(headers) or args.get("token")
        with self._cond:
            issued = self._tokens.get(str(token)) if token else None
        if issued is None:
            return None
        return str(args.get("team_id") or "") or None if issued.grant.org_wide else issued.grant.team_id

    # -- Web API methods ---------------------------------------------------------------------

    def _token_refusal(self, method: str, headers: dict[str, str], args: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer to a call made with a revoked or expired token (None: the token is fine)."""
        if method in TOKENLESS_METHODS:
            return None
        token = bearer_token(headers) or args.get("token")
        with self._cond:
            issued = self._tokens.get(str(token)) if token else None
            if issued is None:
                return None
            error = None
            if issued.revoked:
                error = "token_revoked"
            elif issued.expires_at is not None and issued.expires_at <= self.token_clock():
                error = "token_expired"
            if error is None:
                return None
            self.refused_token_calls.append((method, error))
        return {"ok": False, "error": error}

    def _oauth_v2_access(self, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        client_id, client_secret = _basic_auth(headers)
        client_id = client_id or args.get("client_id")
        client_secret = client_secret or args.get("client_secret")
        if self.client_id is not None and client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if self.client_secret is not None and client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            with self._cond:
                grant = self._refresh_tokens.pop(str(args.get("refresh_token")), None)
            if grant is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._issue(grant)
        with self._cond:
            grant = self._codes.pop(str(args.get("code")), None)  # a code works once
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        answer = self._issue(grant)
        answer.update(
            {
                "app_id": "A_PIPEDAY",
                "bot_user_id": grant.bot_user_id,
                "scope": ",".join(grant.scopes),
                "team": None if grant.org_wide else {"id": grant.team_id, "name": grant.team_name},
                "enterprise": (
                    {"id": grant.enterprise_id, "name": grant.enterprise_name} if grant.enterprise_id else None
                ),
                "is_enterprise_install": grant.org_wide,
                "authed_user": {"id": "U_INSTALLER"},
            }
        )
        return answer

    def _issue(self, grant: Grant) -> dict[str, Any]:
        token = self._next_oauth_id("xoxe.xoxb-" if grant.rotating else "xoxb-")
        expires_at = self.token_clock() + grant.expires_in if grant.rotating else None
        answer: dict[str, Any] = {"ok": True, "access_token": token, "token_type": "bot"}
        with self._cond:
            self._tokens[token] = IssuedToken(grant, expires_at)
            if grant.rotating:
                refresh = self._next_oauth_id_locked("xoxe-1-")
                self._refresh_tokens[refresh] = grant
                answer.update({"refresh_token": refresh, "expires_in": grant.expires_in})
        return answer

    def _oauth_auth_test(self, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        """auth.test for a token the stub issued (None: not one of them)."""
        token = bearer_token(headers) or args.get("token")
        with self._cond:
            issued = self._tokens.get(str(token)) if token else None
        if issued is None:
            return None
        grant = issued.grant
        team_id = args.get("team_id") if grant.org_wide else grant.team_id
        return {
            "ok": True,
            "url": f"https://{(team_id or grant.enterprise_id or 'org').lower()}.slack.com/",
            "team": grant.team_name or grant.enterprise_name,
            "user": "pipeday",
            "team_id": team_id,
            "user_id": grant.bot_user_id,
            "bot_id": grant.bot_id,
            "enterprise_id": grant.enterprise_id,
            "is_enterprise_install": grant.org_wide,
        }

    def _auth_revoke(self, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        token = bearer_token(headers) or args.get("token")
        with self._cond:
            issued = self._tokens.get(str(token)) if token else None
            if issued is not None:
                self._tokens[str(token)] = replace(issued, revoked=True)
        return {"ok": True, "revoked": True}

    def _next_oauth_id(self, prefix: str) -> str:
        with self._cond:
            return self._next_oauth_id_locked(prefix)

    def _next_oauth_id_locked(self, prefix: str) -> str:
        self._oauth_counter += 1
        return f"{prefix}{self._oauth_counter:06d}-stub"


def _basic_auth(headers: dict[str, str]) -> tuple[str | None, str | None]:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.lower().startswith("basic "):
            decoded = base64.b64decode(value[len("basic ") :].strip()).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
    return None, None
