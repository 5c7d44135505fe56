"""Web API clients for calls that must finish inside one of Slack's 3-second windows."""

from __future__ import annotations

from typing import cast

from slack_sdk import WebClient


def one_quick_try(client: WebClient, timeout_s: float) -> WebClient:
    """`client`'s token and base URL, with a short timeout and no retries: a 429's
    Retry-After or a second attempt would land after Slack has stopped waiting."""
    # WebClient's `timeout` is annotated int, but it goes straight to urllib, which takes seconds as a float.
    return WebClient(token=client.token, base_url=client.base_url, timeout=cast(int, timeout_s), retry_handlers=[])
