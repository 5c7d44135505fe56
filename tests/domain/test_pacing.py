"""Bulk posting is paced to at most one message per second per channel, without real sleeps."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.scheduler.pacing import ChannelPacer, PacedWebClient, channel_of
from tests.support.slack_stub import SlackStub


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def pacer_with(fake: FakeTime, interval: float = 1.0) -> ChannelPacer:
    return ChannelPacer(interval, monotonic=fake.monotonic, sleep=fake.sleep)


def test_first_message_to_a_channel_does_not_wait() -> None:
    fake = FakeTime()
    assert pacer_with(fake).wait_turn("C1") == 0
    assert fake.sleeps == []


def test_back_to_back_messages_to_one_channel_are_a_second_apart() -> None:
    fake = FakeTime()
    pacer = pacer_with(fake)
    waits = [pacer.wait_turn("C1") for _ in range(4)]
    # Time stands still, so each message queues one more second behind the last.
    assert waits == [0, 1.0, 2.0, 3.0]
    assert fake.sleeps == [1.0, 2.0, 3.0]


def test_different_channels_do_not_wait_for_each_other() -> None:
    fake = FakeTime()
    pacer = pacer_with(fake)
    assert [pacer.wait_turn(channel) for channel in ("C1", "C2", "C3")] == [0, 0, 0]


def test_time_already_passed_counts_toward_the_gap() -> None:
    fake = FakeTime()
    pacer = pacer_with(fake)
    pacer.wait_turn("C1")
    fake.now += 0.4
    assert pacer.wait_turn("C1") == pytest.approx(0.6)
    fake.now += 5
    assert pacer.wait_turn("C1") == 0


def test_concurrent_posters_get_distinct_slots() -> None:
    fake = FakeTime()
    pacer = pacer_with(fake)
    with ThreadPoolExecutor(8) as pool:
        waits = sorted(pool.map(lambda _: pacer.reserve("C1"), range(8)))
    assert waits == [float(n) for n in range(8)]


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        ChannelPacer(-1)


def test_channel_of_reads_channel_or_channel_id() -> None:
    assert channel_of({"channel": "C1", "text": "x"}) == "C1"
    assert channel_of({"channel_id": "C2"}) == "C2"
    assert channel_of({"text": "no channel"}) is None
    assert channel_of(None) is None


def test_paced_client_paces_posts_and_file_shares_but_not_reads() -> None:
    fake = FakeTime()
    with SlackStub() as slack:
        client = PacedWebClient(pacer=pacer_with(fake), token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")
        client.chat_postMessage(channel="C2", text="elsewhere")
        client.auth_test()
        client.files_upload_v2(channel="C1", content=b"png", filename="chart.png", title="chart")
        assert [c.args["channel"] for c in slack.calls("chat.postMessage")] == ["C1", "C1", "C2"]
        assert len(slack.calls("files.completeUploadExternal")) == 1
        assert slack.errors == []
    # C1: second post waits 1 s, the file share (third message there) waits 2 s.
    assert fake.sleeps == [1.0, 2.0]
