"""A vendor's REST API as adapters see it (base.VendorApi): JSON over HTTPS with the admin's
token as a bearer, a short timeout, and every failure turned into FetchFailed with a reason
short enough for `pipeday ingest unmatched` (the delivery is retried, then parked with it).

Only the standard library: one GET or POST per call, no retries here (the delivery's backoff
is the retry), no redirects to another host carrying the token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from bot.adapters.base import FetchFailed

DEFAULT_TIMEOUT_S = 5.0
# A vendor answer larger than this isn't one record or one batch: refuse it rather than hold it.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
USER_AGENT = "Pipeday webhooks"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would resend the bearer token wherever it points: treat it as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibVendorApi:
    """`get_json`/`post_json` against `base_url` (e.g. https://api.hubapi.com) with `token`."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(dict(params))}" if params else ""
        return self._send("GET", f"{self._url(path)}{query}", None)

    def post_json(self, path: str, body: Any) -> Any:
        return self._send("POST", self._url(path), json.dumps(body).encode("utf-8"))

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _send(self, method: str, url: str, data: bytes | None) -> Any:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise FetchFailed(f"{where} answered {error.code}{_hint(error.code)}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise FetchFailed(f"{where} didn't answer within {self._timeout:g} s") from None
            raise FetchFailed(f"{where} failed: {reason}") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise FetchFailed(f"{where} answered more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB")
        try:
            return json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            raise FetchFailed(f"{where} answered something that isn't JSON") from None


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (check the source's API token: pipeday source set NAME --api-token T)"
    if status == 429:
        return " (rate limited)"
    return ""
