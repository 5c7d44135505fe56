"""Work after the ack runs on its own pool, and a failure there still reaches the log and the user."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.domain.errors import Conflict
from bot.slack.after_ack import AfterAck

COMMAND_BODY = {"command": "/pg", "text": "close", "response_url": "https://hooks.slack.test/r1"}
EVENT_BODY = {"type": "event_callback", "event": {"type": "app_home_opened"}}


class RecordingRespond:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def after_ack() -> Any:
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-after-ack") as pool:
        yield AfterAck(pool)


def test_work_runs_on_the_after_ack_pool_not_the_callers_thread(after_ack: AfterAck) -> None:
    ran_on: list[str] = []
    after_ack(lambda: ran_on.append(threading.current_thread().name), COMMAND_BODY).result(timeout=5)
    assert len(ran_on) == 1 and ran_on[0].startswith("test-after-ack")


def test_a_failure_is_logged_with_its_traceback_and_the_user_told_with_the_reference(
    after_ack: AfterAck, caplog: pytest.LogCaptureFixture
) -> None:
    respond = RecordingRespond()

    def fails() -> None:
        raise RuntimeError("posting the results broke")

    with caplog.at_level(logging.ERROR):
        after_ack(fails, COMMAND_BODY, respond).result(timeout=5)  # type: ignore[arg-type]
    logged = [r for r in caplog.records if "unhandled error" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "'close'" in logged[0].getMessage()
    reference = logged[0].getMessage().split("(ref ")[1].split(")")[0]
    assert len(respond.calls) == 1
    answer = respond.calls[0]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    # The request went through before this failed: no "nothing was saved", no "try again".
    assert answer["text"].startswith("Sorry — that went through") and f"ref `{reference}`" in answer["text"]
    assert "nothing was saved" not in answer["text"] and "try again" not in answer["text"].lower()


def test_an_expected_refusal_gets_the_same_answer_it_would_get_before_the_ack(
    after_ack: AfterAck, caplog: pytest.LogCaptureFixture
) -> None:
    respond = RecordingRespond()

    def refuses() -> None:
        raise Conflict("AMER has no announcement channel.", "Set one with `pipeday region set`.")

    with caplog.at_level(logging.ERROR):
        after_ack(refuses, COMMAND_BODY, respond).result(timeout=5)  # type: ignore[arg-type]
    assert [r for r in caplog.records if "unhandled error" in r.getMessage()] == []
    (answer,) = respond.calls
    assert "AMER has no announcement channel." in str(answer) and "pipeday region set" in str(answer)
    assert answer["response_type"] == "ephemeral"


def test_a_response_url_that_fails_too_is_logged_not_lost(
    after_ack: AfterAck, caplog: pytest.LogCaptureFixture
) -> None:
    def respond_fails(**_message: Any) -> None:
        raise OSError("response_url unreachable")

    def fails() -> None:
        raise RuntimeError("posting the results broke")

    with caplog.at_level(logging.ERROR):
        after_ack(fails, COMMAND_BODY, respond_fails).result(timeout=5)  # type: ignore[arg-type]
    messages = [r.getMessage() for r in caplog.records]
    assert any("unhandled error" in m for m in messages)
    assert any("could not answer command /pg 'close'" in m for m in messages)


def test_an_event_has_no_one_to_answer_so_the_failure_is_only_logged(
    after_ack: AfterAck, caplog: pytest.LogCaptureFixture
) -> None:
    respond = RecordingRespond()

    def fails() -> None:
        raise RuntimeError("views.publish broke")

    with caplog.at_level(logging.ERROR):
        after_ack(fails, EVENT_BODY, respond).result(timeout=5)  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records if "unhandled error" in r.getMessage()]
    assert respond.calls == []
