"""Work that runs once Slack has its answer: Web API calls, rendering, uploads.

Bolt runs every listener, the part that acks included, on one small thread pool (5 threads
a process) and answers Slack once the listener has acked. Work that waits on Slack — a
429's Retry-After, a slow upload, a GIF being drawn — must not stay in those threads after
the ack: with five of it in flight in one worker, every new request there would wait for
its ack past Slack's 3 seconds. So listeners hand it to a pool of its own here, and a
listener thread is free again as soon as it has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import Respond

from bot.blocks.replies import simple_error
from bot.domain.errors import DomainError
from bot.slack.errors import answer_later, apologise_later, log_unexpected_error

# Enough for a burst of live-standings edits, App Home publishes and a spin at once; more
# waits its turn in the pool's queue without holding up any ack.
AFTER_ACK_THREADS = 8

Work = Callable[[], object]  # what it returns is ignored


def after_ack_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=AFTER_ACK_THREADS, thread_name_prefix="pipeday-after-ack")


class AfterAck:
    """`after_ack(work, body, respond)`: run `work` on the after-ack pool. A failure there is
    handled as the global error handler would: logged with its traceback, and the user told
    through the request's response_url when it has one (a DomainError gets its own message,
    as it would before the ack)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def __call__(self, work: Work, body: dict[str, Any], respond: Respond | None = None) -> Future[None]:
        return self._executor.submit(_run_reporting_errors, work, body, respond)


def _run_reporting_errors(work: Work, body: dict[str, Any], respond: Respond | None) -> None:
    try:
        work()
    except DomainError as error:
        # What the /pg listener answers before the ack, e.g. a region that lost its channel.
        answer_later(simple_error(error.message, error.hint), body, respond)
    except Exception as error:  # noqa: BLE001 - Bolt's error handler no longer sees this thread
        apologise_later(log_unexpected_error(error, body), body, respond)
