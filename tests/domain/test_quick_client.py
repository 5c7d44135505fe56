"""A quick-try client keeps what its original carries: token, base URL and, for an org-wide
token, the workspace every call is for."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.clients import one_quick_try


def test_a_quick_try_keeps_the_token_url_and_workspace() -> None:
    org_wide = WebClient(token="xoxb-org", base_url="http://127.0.0.1:9/api/", team_id="T0EAST")
    quick = one_quick_try(org_wide, 2.0)
    assert (quick.token, quick.base_url, quick.default_params.get("team_id")) == (
        "xoxb-org",
        "http://127.0.0.1:9/api/",
        "T0EAST",
    )
    assert quick.retry_handlers == [] and quick.timeout == 2.0
    assert "team_id" not in one_quick_try(WebClient(token="xoxb-one"), 2.0).default_params
