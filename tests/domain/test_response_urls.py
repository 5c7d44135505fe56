"""Pipeday posts answers only to Slack's response URLs (or the configured stub Slack)."""

from __future__ import annotations

import pytest

from bot.slack.response_urls import disallowed_response_urls, is_allowed_response_url

STUB = "http://127.0.0.1:8123/api/"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/commands/T0001/123/abc",
        "https://hooks.slack.com/actions/T0001/123/abc",
        "https://hooks.slack-gov.com/commands/T0001/123/abc",
        "https://hooks.slack.com:443/commands/T0001/123/abc",
        "http://127.0.0.1:8123/response/r1",
    ],
)
def test_slacks_hooks_and_the_configured_stub_are_allowed(url: str) -> None:
    assert is_allowed_response_url(url, STUB)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/commands/T0001/123/abc",
        "https://hooks.slack.com:8443/commands/T0001/123/abc",
        "https://evil.example/hooks.slack.com",
        "https://hooks.slack.com.evil.example/commands",
        "https://user:pw@hooks.slack.com/commands/T0001/123/abc",
        "https://hooks.slack.com:notaport/commands",
        "http://127.0.0.1:8124/response/r1",
        "http://localhost:8123/response/r1",
        "file:///etc/passwd",
        "",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    assert not is_allowed_response_url(url, STUB)


def test_without_a_configured_api_url_only_slack_is_allowed() -> None:
    assert not is_allowed_response_url("http://127.0.0.1:8123/response/r1", None)
    assert is_allowed_response_url("https://hooks.slack.com/commands/T/1/a", None)


def test_every_response_url_in_a_body_is_checked() -> None:
    body = {
        "response_urls": [
            {"response_url": "https://hooks.slack.com/app/T/1/a"},
            {"response_url": "https://evil.example/"},
            {"response_url": 42},
        ]
    }
    assert disallowed_response_urls(body, None) == ["'https://evil.example/'", "42"]
    assert disallowed_response_urls({"response_url": "https://hooks.slack.com/commands/T/1/a"}, None) == []
    assert disallowed_response_urls({}, None) == []
