"""The weekly summary's lift section: a line per competition and one for the leaders, as posted."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.summary import weekly_summary_message
from bot.domain.summary import weekly_summary
from bot.posting.weekly_summary import post_weekly_summary
from tests.db.test_lift import seeded
from tests.support.lift_data import NOW, Log, add_people, local, make_region, store_logs
from tests.support.slack_stub import SlackStub, validate_message_payload

SECTION_TITLE = "*📈 What the prospecting days changed* (last 12 weeks; associated with, not proof of cause"


def section_texts(content: dict[str, object]) -> list[str]:
    blocks = content.get("blocks")
    assert isinstance(blocks, list)
    return [block["text"]["text"] for block in blocks if block["type"] == "section"]


def test_the_summary_says_what_the_prospecting_days_changed(session: Session) -> None:
    region = seeded(session, competition_rate=6.0, seed=1)
    (lea,) = add_people(session, region, "leader", 1, "LEAD")
    store_logs(session, [Log(lea, "hour", 2, local(date(2026, 11, 26), 9))])
    summary = weekly_summary(session, region, NOW, lift=True)
    content = weekly_summary_message(summary)
    assert validate_message_payload(content) == []
    (lift_section,) = [text for text in section_texts(content) if text.startswith(SECTION_TITLE)]
    title, connect_day, leaders = lift_section.split("\n")
    assert title.endswith("`/pg lift` for more)")
    assert connect_day.startswith("Connect Day is associated with 1.")
    assert connect_day.endswith("the connects per rep of an ordinary working day (10 days vs 54 ordinary days).")
    assert leaders == (
        "Leaders' effect: not enough data yet (1 day a leader prospected and 63 days none did so far; "
        "8 of each needed)."
    )


def test_no_section_without_competitions_or_leaders(session: Session) -> None:
    region = make_region(session)
    (rep,) = add_people(session, region, "rep", 1, "REP")
    store_logs(session, [Log(rep, "connect", 3, local(date(2026, 11, 24), 10))])
    content = weekly_summary_message(weekly_summary(session, region, NOW, lift=True))
    assert not any("prospecting days changed" in text for text in section_texts(content))
    # Without lift=True (the bench's figures, the preview) there is no report at all.
    assert weekly_summary(session, region, NOW).lift is None


def test_the_posted_summary_carries_the_section(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        region_id = seeded(session, competition_rate=4.0, seed=2).id
    with SlackStub() as stub:
        post_weekly_summary(stub.client(), session_factory, region_id, NOW)
        (posted,) = stub.calls("chat.postMessage")
    text = "\n".join(section_texts(posted.args))
    assert "Connect Day: no clear difference in connects per rep from an ordinary working day (" in text
