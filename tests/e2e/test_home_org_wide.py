"""The quick-log modal submitted from a workspace of an Enterprise Grid org whose org-wide
interactivity payload carries `"team": null`: the log is stored under the user's own workspace
(`user.team_id`), as the competitions' buttons read it, not lost to a TypeError."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

from bot.blocks.log_modal import CALLBACK_ID
from bot.devtools.slack_requests import FORM_CONTENT_TYPE
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_goals_and_home import activities, amer, modal_values

__all__ = ["amer"]  # the fixture


def test_a_modal_submission_without_a_team_logs_under_the_users_workspace(amer: LiveBot) -> None:
    bot = amer
    plain = bot.requests.view_submission(CALLBACK_ID, modal_values("call", "2"), view_id="VORG1")
    payload = json.loads(parse_qs(plain.body.decode())["payload"][0])
    assert payload["user"]["team_id"] == TEAM_ID
    payload.update(team=None, is_enterprise_install=True, enterprise={"id": "E_ORG", "name": "Org"})
    org_wide = bot.requests.sign(urlencode({"payload": json.dumps(payload)}).encode(), FORM_CONTENT_TYPE)

    answer = org_wide.send(bot.base_url)
    bot.settle()

    assert answer.status_code == 200 and answer.text == "", answer.text  # closes the modal
    [logged] = activities(bot)
    assert (logged.team_id, logged.type, logged.quantity, logged.source) == (TEAM_ID, "call", 2.0, "home")
