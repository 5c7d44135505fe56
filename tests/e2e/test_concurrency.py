"""Many reps logging at once over HTTP: every log lands exactly once, totals add up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.domain.directory import add_region
from models import Activity, Member
from tests.e2e.conftest import LiveBot

THREADS, LOGS_PER_THREAD = 8, 50


def test_eight_threads_times_fifty_logs(live_bot: LiveBot) -> None:
    with live_bot.session_factory.begin() as session:
        add_region(session, "T0001", "AMER", "America/New_York", "C_AMER", actor="test")
    for rep in range(THREADS):
        live_bot.pg_reply("join AMER", user_id=f"U_REP{rep}")

    def log_many(rep: int) -> list[int]:
        statuses = []
        for i in range(LOGS_PER_THREAD):
            # Every rep alternates 1 and 2 connects: 25×1 + 25×2 = 75 each.
            count = 1 + i % 2
            response = live_bot.requests.slash_command(f"{count} connects", user_id=f"U_REP{rep}").send(
                live_bot.base_url
            )
            statuses.append(response.status_code)
            assert "Logged" in response.json()["text"], response.text
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for batch in pool.map(log_many, range(THREADS)) for s in batch]
    assert statuses == [200] * THREADS * LOGS_PER_THREAD

    with live_bot.session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == THREADS * LOGS_PER_THREAD
        totals = dict(
            session.execute(
                select(Member.user_id, func.sum(Activity.quantity)).join(Activity.member).group_by(Member.user_id)
            ).all()
        )
    assert totals == {f"U_REP{rep}": 75.0 for rep in range(THREADS)}
    board = live_bot.pg_reply("board", user_id="U_REP0")["blocks"][1]["text"]["text"]
    assert board.count("75 connects") == THREADS
    assert board.count("🥇") == THREADS  # all tied: one shared first place
