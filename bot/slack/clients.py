"""Web API clients: the app's retry policy and base URL, and clients for calls that must finish
inside one of Slack's 3-second windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

if TYPE_CHECKING:
    from bot.settings import Settings


def configure_web_client(client: WebClient, settings: Settings) -> WebClient:
    """Point `client` at the configured Web API, with our retry policy."""
    client.base_url = settings.slack_api_url or WebClient.BASE_URL
    # Slack asks us to back off on 429s (honouring Retry-After); a dropped connection is worth one more try.
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=2),
    ]
    return client


def one_quick_try(client: WebClient, timeout_s: float) -> WebClient:
    """`client`'s token, base URL and workspace (an org-wide token's team_id), with a short
    timeout and no retries: a 429's Retry-After or a second attempt would land after Slack has
    stopped waiting."""
    # WebClient's `timeout` is annotated int, but it goes straight to urllib, which takes seconds as a float.
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=cast(int, timeout_s),
        retry_handlers=[],
        team_id=client.default_params.get("team_id"),
    )
