"""A vendor's REST API as adapters see it (base.VendorApi): JSON over HTTPS with the admin's
token as a bearer, and every failure turned into FetchFailed with a reason short enough for
`pipeday ingest unmatched` (the delivery is retried, then parked with it). A refused token
(401/403) is TokenRefused: the delivery is parked at once, since only a new token helps —
unless the token renews itself (bot/adapters/oauth_tokens.py: Outreach's refresh grant): then
a 401 gets a new access token from the vendor's token endpoint and the call is made again,
once, and the new token is stored (`renewal`, one run of a source at a time).

Every call is over by a deadline, whatever the vendor does: a socket timeout only bounds each
read, so a vendor trickling a byte a second would hold the thread for ever. A watchdog timer
shuts the call's socket down when its time is up (the run's deadline, or CALL_BUDGET_S), which
ends any read in progress. Answers are capped at MAX_RESPONSE_BYTES.

Only the standard library: one GET or POST per call, no retries here (the delivery's backoff
is the retry), no redirects to another host carrying the token.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from bot.adapters.base import FetchFailed, TokenRefused
from bot.adapters.oauth_tokens import TOKEN_PATH, NotARefreshToken, RefreshableToken, RenewalGuard, parse_token

# Each read and the connect; the call as a whole is bounded by its deadline.
DEFAULT_TIMEOUT_S = 5.0
# A call's whole time when the caller gives no deadline of its own.
CALL_BUDGET_S = 15.0
# A vendor answer larger than this isn't one record or one batch: refuse it rather than hold it.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
USER_AGENT = "Pipeday webhooks"
# A refresh's whole time: a token endpoint answers at once, and while it is asked the source's
# row is locked (on SQLite, the database's write lock is held: see bot/ingest/api_tokens.py),
# so well below the write gate's 10 s wait.
REFRESH_BUDGET_S = 4.0


class _Answered(FetchFailed):
    """The vendor answered an HTTP error status (other than a refused token)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _RefreshRefused(TokenRefused):
    """The token endpoint refused the refresh token (spent, expired or revoked)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the bearer token wherever it points: treat it as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Watchdog:
    """Shuts down the sockets of one call once its time is up (from a timer thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut_down(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def connection_class(self, base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        watchdog = self

        class Watched(base):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                super().connect()
                watchdog.watch(self.sock)

        return Watched


def _shut_down(sock: socket.socket) -> None:
    # socket.socket's own shutdown, below TLS: it wakes a read blocked in another thread.
    with contextlib.suppress(OSError):  # closed already
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watchdog.connection_class(http.client.HTTPConnection), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = getattr(self, "_context", None)
        return self.do_open(self._watchdog.connection_class(http.client.HTTPSConnection), req, context=context)


class UrllibVendorApi:
    """`get_json`/`post_json` against `base_url` (e.g. https://api.hubapi.com) with `token`.
    `deadline` (time.monotonic()): every call ends by then (the run's deadline); without one,
    each call gets CALL_BUDGET_S. A refreshable `token` (oauth_tokens) is renewed at most once
    per instance (one run): under `renewal` (the source's guard, which reads the stored token
    and keeps the new one), or without one for this run only."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        deadline: float | None = None,
        renewal: RenewalGuard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._deadline = deadline
        self._renewal = renewal
        self._known = token  # the token as this run last knew it stored
        try:
            self._refreshable: RefreshableToken | None = parse_token(token)
            self._unreadable: str | None = None
        except NotARefreshToken as error:
            self._refreshable, self._unreadable = None, str(error)
        self._token = self._refreshable.access_token if self._refreshable else token
        self._renewed = False

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(dict(params))}" if params else ""
        return self._call("GET", f"{self._url(path)}{query}", None)

    def post_json(self, path: str, body: Any) -> Any:
        return self._call("POST", self._url(path), json.dumps(body).encode("utf-8"))

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _call(self, method: str, url: str, data: bytes | None) -> Any:
        if self._unreadable is not None:
            raise TokenRefused(f"the API token isn't usable: {self._unreadable}", 401)
        if self._refreshable is not None and not self._token:
            self._renew()  # only the means of getting one so far (refresh:…)
        try:
            return self._send(method, url, data)
        except TokenRefused as refused:
            if self._refreshable is None or refused.status != 401 or self._renewed:
                raise
            self._renew()
            return self._send(method, url, data)

    def _renew(self) -> None:
        """A new access token (and refresh token) from the token endpoint; a refusal there is
        TokenRefused (the refresh token expired or was revoked: only the admin can help).
        With a guard, this happens while no other run of the source renews, and only when the
        token stored now is still the one this run started from: if another run renewed it
        meanwhile (spending the refresh token this run holds), that one is taken instead; a
        refused refresh reads the stored token once more before giving up."""
        assert self._refreshable is not None
        self._renewed = True
        if self._renewal is None:
            renewed = self._refresh(self._refreshable)
            self._refreshable, self._token = renewed, renewed.access_token
            return
        with self._renewal() as turn:
            if self._took_newer(turn.current()):
                return
            assert self._refreshable is not None  # a plain token always has something to try
            try:
                renewed = self._refresh(self._refreshable)
            except _RefreshRefused as refused:
                started = self._known
                if self._took_newer(turn.current()):
                    return
                if self._known == started or self._refreshable is None:
                    raise TokenRefused(str(refused), 401) from None
                renewed = self._refresh(self._refreshable)  # a refresh: token the admin set meanwhile
            self._refreshable, self._token = renewed, renewed.access_token
            self._known = renewed.stored()
            turn.keep(self._known)

    def _took_newer(self, stored: str | None) -> bool:
        """Take the stored token if it isn't the one this run knows (another run renewed it, or
        the admin set another). True when that gives an access token to try, so no refresh."""
        if stored == self._known:
            return False
        if stored is None:
            raise TokenRefused("the API token was removed during the run", 401)
        self._known = stored
        try:
            refreshable = parse_token(stored)
        except NotARefreshToken as error:
            raise TokenRefused(f"the API token isn't usable: {error}", 401) from None
        self._refreshable = refreshable
        self._token = refreshable.access_token if refreshable is not None else stored
        return bool(self._token)

    def _refresh(self, token: RefreshableToken) -> RefreshableToken:
        form = urllib.parse.urlencode(token.refresh_form()).encode("ascii")
        try:
            answer = self._send("POST", self._url(TOKEN_PATH), form, form_encoded=True, budget=REFRESH_BUDGET_S)
            return token.renewed(answer)
        except TokenRefused as refused:
            raise _RefreshRefused(f"renewing the OAuth token: {refused}", 401) from None
        except _Answered as failed:
            if failed.status == 400:  # invalid_grant (RFC 6749 5.2): the refresh token is spent or revoked
                raise _RefreshRefused(f"renewing the OAuth token: {failed}", 401) from None
            raise FetchFailed(f"renewing the OAuth token: {failed}") from None
        except FetchFailed as failed:
            raise FetchFailed(f"renewing the OAuth token: {failed}") from None
        except NotARefreshToken as error:
            raise FetchFailed(f"renewing the OAuth token: {error}") from None

    def _send(
        self, method: str, url: str, data: bytes | None, *, form_encoded: bool = False, budget: float = CALL_BUDGET_S
    ) -> Any:
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        started = time.monotonic()
        ends = started + budget if self._deadline is None else min(self._deadline, started + budget)
        budget = ends - started
        if budget <= 0:
            raise FetchFailed(f"{where} not tried: the run's time was up")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form_encoded else "application/json"
        if self._token and not form_encoded:  # the token endpoint takes the client's credentials instead
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        watchdog = _Watchdog()
        opener = urllib.request.build_opener(
            _NoRedirects, _WatchedHTTPHandler(watchdog), _WatchedHTTPSHandler(watchdog)
        )
        timer = threading.Timer(budget, watchdog.expire)
        timer.daemon = True
        timer.start()
        try:
            raw = self._exchange(opener, request, where, min(self._timeout, budget), watchdog, budget)
        finally:
            timer.cancel()
        if len(raw) > MAX_RESPONSE_BYTES:
            raise FetchFailed(f"{where} answered more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB")
        try:
            return json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise FetchFailed(f"{where} answered something that isn't JSON") from None

    def _exchange(
        self,
        opener: urllib.request.OpenerDirector,
        request: urllib.request.Request,
        where: str,
        timeout: float,
        watchdog: _Watchdog,
        budget: float,
    ) -> bytes:
        late = FetchFailed(f"{where} didn't finish within {budget:.3g} s")
        try:
            with opener.open(request, timeout=timeout) as response:
                raw: bytes = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in (401, 403):
                raise TokenRefused(f"{where} answered {error.code}", error.code) from None
            raise _Answered(f"{where} answered {error.code}{_hint(error.code)}", error.code) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            if watchdog.expired:
                raise late from None
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise FetchFailed(f"{where} didn't answer within {timeout:.3g} s") from None
            raise FetchFailed(f"{where} failed: {reason}") from None
        if watchdog.expired:  # an answer without a length ends at the shutdown: it's cut short
            raise late
        return raw


def _hint(status: int) -> str:
    if status == 429:
        return " (rate limited)"
    return ""
