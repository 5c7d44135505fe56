"""The channel decisions, from what Slack answered: no Slack needed."""

from __future__ import annotations

import pytest

from bot.slack.channels import (
    ChannelFacts,
    channel_id_problem,
    is_channel_id,
    join_outcome,
    judge_channel,
    upload_refusal_reason,
)


@pytest.mark.parametrize("value", ["C0123ABCD", "G0123ABCD", "C1"])
def test_channel_ids_are_accepted(value: str) -> None:
    assert is_channel_id(value) and channel_id_problem(value) is None


@pytest.mark.parametrize("value", ["#sales", "sales", "c0123abcd", "U0123ABCD", "D0123ABCD", "<#C0123ABCD|sales>", ""])
def test_names_and_other_ids_are_not_channel_ids(value: str) -> None:
    assert not is_channel_id(value)
    assert "C0123ABCD" in (channel_id_problem(value) or "")


def facts(*, private: bool = False, member: bool = False, archived: bool = False) -> ChannelFacts:
    return ChannelFacts("C0SALES", "sales", private, member, archived)


def test_what_to_do_about_a_channel() -> None:
    assert judge_channel("C0SALES", facts(member=True)).verdict == "ready"
    assert judge_channel("C0SALES", facts(private=True, member=True)).usable
    assert judge_channel("C0SALES", facts()).verdict == "join"
    private = judge_channel("C0SALES", facts(private=True))
    assert private.verdict == "invite" and "/invite @Pipeday" in private.message and "#sales" in private.message
    assert judge_channel("C0SALES", facts(archived=True, member=True)).verdict == "archived"
    # How Slack answers a bot about a private channel it isn't in.
    unseen = judge_channel("C0SALES", None, "channel_not_found")
    assert unseen.verdict == "unseen" and "/invite @Pipeday" in unseen.message
    assert "channels:read" in judge_channel("C0SALES", None, "missing_scope").message


def test_joining_and_uploading_say_how_to_fix_a_refusal() -> None:
    assert join_outcome("#sales", None).usable
    refused = join_outcome("#sales", "missing_scope")
    assert not refused.usable and "channels:join" in refused.message and "/invite @Pipeday" in refused.message
    assert "private channel" in upload_refusal_reason("not_in_channel", "channel_not_found")
    assert "channels:join" in upload_refusal_reason("not_in_channel", "missing_scope")
    assert "files:write" in upload_refusal_reason("missing_scope", None)
    assert upload_refusal_reason("invalid_arguments", None) == "Slack answered 'invalid_arguments'"
