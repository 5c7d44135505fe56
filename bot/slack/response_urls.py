"""Which `response_url`s Pipeday will post to: Slack's own, and nothing a sender can choose.

A response_url comes in the request body, so posting to one is only as safe as the body: the
web layer verifies every body first (bot/slack/verification.py), and this gate makes sure that
even a verified one only ever sends our answers to Slack (or, in tests and the demo, to the
stub Slack at SLACK_API_URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

# Slack's commercial and GovSlack hosts for response URLs.
SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})


def is_allowed_response_url(url: str, slack_api_url: str | None) -> bool:
    """https on one of Slack's hooks hosts, or the same origin as the configured SLACK_API_URL."""
    try:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname, parts.port)
    except ValueError:  # a port that isn't a number, a malformed IPv6 host
        return False
    if parts.username or parts.password:
        return False
    if parts.scheme == "https" and parts.hostname in SLACK_RESPONSE_HOSTS and parts.port in (None, 443):
        return True
    if slack_api_url:
        configured = urlsplit(slack_api_url)
        return origin == (configured.scheme, configured.hostname, configured.port)
    return False


def response_urls_in(body: dict[str, Any]) -> Iterator[object]:
    """Every response_url a request carries (slash commands and buttons have one; modals with
    response_url_enabled have a list)."""
    if "response_url" in body:
        yield body["response_url"]
    urls = body.get("response_urls")
    for entry in urls if isinstance(urls, list) else []:
        if isinstance(entry, dict) and "response_url" in entry:
            yield entry["response_url"]


def disallowed_response_urls(body: dict[str, Any], slack_api_url: str | None) -> list[str]:
    return [
        repr(url)
        for url in response_urls_in(body)
        if not (isinstance(url, str) and is_allowed_response_url(url, slack_api_url))
    ]
