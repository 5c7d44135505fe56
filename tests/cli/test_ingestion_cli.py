"""`pipeday apikey create|list|revoke`, `pipeday ingest unmatched` and `pipeday member link`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.api_keys import find_key, note_key_used
from bot.domain.ingestion import ingest_items
from models import Activity, ApiKey
from models.db import make_engine, make_session_factory
from tests.support.cli import run_pipeday

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(database_url, "db", "upgrade")[0] == 0
    assert run_pipeday(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    return database_url


def test_apikey_create_prints_the_key_once_list_shows_it_revoke_stops_it(url: str) -> None:
    code, output = run_pipeday(url, "apikey", "create", "zapier")
    assert code == 0, output
    key = output.splitlines()[1]
    assert key.startswith("pd_") and len(key) >= 3 + 43
    assert run_pipeday(url, "apikey", "create", "zapier")[0] == 1  # names are unique
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            stored = session.scalars(select(ApiKey)).one()
            assert key not in (stored.key_hash, stored.prefix) and stored.prefix == key[:10]
            found = find_key(session, key)
            assert found is not None
            note_key_used(session, found.key_id, NOW)
        code, listing = run_pipeday(url, "apikey", "list")
        assert code == 0 and "zapier" in listing and key[:10] in listing and key not in listing
        assert "last used 2026-11-24 15:00" in listing and "active" in listing
        assert run_pipeday(url, "apikey", "revoke", "zapier")[0] == 0
        assert "revoked" in run_pipeday(url, "apikey", "list")[1]
        with make_session_factory(engine).begin() as session:
            assert find_key(session, key) is None
        assert run_pipeday(url, "apikey", "revoke", "nope")[0] == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("slash", "typed in Slack"),
        ("Home", "typed in Slack"),
        ("modal", "typed in Slack"),
        ("crm:emea", "colon"),
        ("api", "starts with api"),
        ("API-crm", "starts with api"),
        ("x" * 61, "1 to 60 characters"),
    ],
)
def test_apikey_create_refuses_names_pipeday_gives_sources_itself(url: str, name: str, reason: str) -> None:
    # A key's name is its items' source: it must never read as typing in Slack or the api: namespace.
    code, output = run_pipeday(url, "apikey", "create", name)
    assert code == 1 and reason in output, output
    assert "pd_" not in output
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
    finally:
        engine.dispose()


def test_unmatched_items_are_listed_by_person_and_replayed_by_member_link(url: str) -> None:
    engine = make_engine(url)
    try:
        items = [
            {
                "external_id": f"c{n}",
                "type": "call",
                "occurred_at": "2026-11-24T10:00:00-05:00",
                "email": "sam@acme.com",
            }
            for n in range(3)
        ]
        with make_session_factory(engine).begin() as session:
            report = ingest_items(session, TEAM, "dialer", items, NOW, lambda email: None)
        assert [r.status for r in report.results] == ["unmatched"] * 3
        code, output = run_pipeday(url, "ingest", "unmatched")
        assert code == 0 and "sam@acme.com: 3 item(s)" in output and "dialer/c0" in output

        assert run_pipeday(url, "member", "link", "Sam@Acme.com", "U0SAM") == (
            0,
            "Replayed 3 activities for sam@acme.com → <@U0SAM>.\n",
        )
        assert "Nothing parked" in run_pipeday(url, "ingest", "unmatched")[1]
        with make_session_factory(engine).begin() as session:
            assert session.scalar(select(func.sum(Activity.quantity))) == 3
            # The email is known now: the same items again are duplicates.
            again = ingest_items(session, TEAM, "dialer", items, NOW, lambda email: None)
            assert [r.status for r in again.results] == ["duplicate"] * 3
    finally:
        engine.dispose()


def test_vendor_keys_are_linked_by_source_and_id_and_parked_deliveries_are_listed_and_retried(url: str) -> None:
    from bot.domain.deliveries import claim_delivery
    from bot.domain.secret_box import SecretBox
    from bot.domain.webhook_sources import add_source
    from models.ingestion import PersonLink, WebhookDelivery

    key = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            source = add_source(session, TEAM, "aircall", "outreach", SecretBox(key), secret="tok")
            items = [
                {
                    "external_id": f"o{n}",
                    "type": "call",
                    "occurred_at": "2026-11-24T10:00:00-05:00",
                    "vendor_user_id": "42",
                }
                for n in range(2)
            ]
            report = ingest_items(session, TEAM, "outreach", items, NOW, lambda email: None, from_adapter=True)
            assert [r.status for r in report.results] == ["unmatched"] * 2
            claim_delivery(
                session, source.id, "evt-9", NOW, jobs=[{"id": 9}], parked_reason="GET /calls/9 answered 503"
            )
        code, output = run_pipeday(url, "ingest", "unmatched")
        assert code == 0 and "outreach:42: 2 item(s) (nobody is linked to outreach:42)" in output
        assert (
            "outreach  evt-9  received 2026-11-24 15:00  (1 fetch(es)) after 0 failed attempt(s): "
            "GET /calls/9 answered 503" in output
        )

        assert run_pipeday(url, "member", "link", "outreach:42", "U0REP") == (
            0,
            "Replayed 2 activities for outreach:42 → <@U0REP>.\n",
        )
        code, output = run_pipeday(url, "member", "link", "nosuch:42", "U0REP")
        assert code == 1 and "There's no source named nosuch" in output
        assert run_pipeday(url, "member", "link", "outreach:42", "U0OTHER")[0] == 1  # linked to U0REP already

        code, output = run_pipeday(url, "ingest", "retry", "--source", "outreach")
        assert code == 0 and output.startswith("Re-queued 1 parked delivery(ies)")
        assert run_pipeday(url, "ingest", "retry")[1] == "No parked deliveries.\n"
        assert run_pipeday(url, "ingest", "retry", "--source", "nosuch")[0] == 1
        with make_session_factory(engine).begin() as session:
            assert session.scalar(select(func.sum(Activity.quantity))) == 2
            assert session.scalars(select(PersonLink.person_key)).all() == ["outreach:42"]
            requeued = session.scalars(select(WebhookDelivery)).one()
            assert (requeued.state, requeued.attempts, requeued.reason) == ("pending", 0, None)
        assert "Nothing parked" in run_pipeday(url, "ingest", "unmatched")[1]
    finally:
        engine.dispose()


def test_unmatched_lists_deliveries_waiting_for_a_retry_and_recently_refused_items(url: str) -> None:
    from datetime import timedelta

    from bot.domain.deliveries import claim_delivery, finish_run, note_rejections
    from bot.domain.secret_box import SecretBox
    from bot.domain.webhook_sources import add_source
    from models import utc_now
    from models.ingestion import WebhookDelivery

    key = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="
    now = utc_now()
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            source = add_source(session, TEAM, "aircall", "aircall", SecretBox(key), secret="tok")
            item = {"external_id": "9", "type": "call", "occurred_at": "2026-11-24T10:00:00-05:00", "email": "a@b.co"}
            waiting_id = claim_delivery(session, source.id, "call.ended:9", now, items=[item])
            waiting = session.get(WebhookDelivery, waiting_id)
            assert waiting is not None
            finish_run(waiting, [item], [], "Slack couldn't match an email just now (Slack answered ratelimited)", now)
            for name, when in (("call.ended:321", now - timedelta(hours=1)), ("call.ended:7", now - timedelta(days=8))):
                done_id = claim_delivery(session, source.id, name, when)
                done = session.get(WebhookDelivery, done_id)
                assert done is not None
                note_rejections(
                    done, [("321", "occurred_at is in the future"), ("321:connect", "occurred_at is in the future")]
                )
        code, output = run_pipeday(url, "ingest", "unmatched")
        assert code == 0, output
        assert "Waiting for a retry (1): the clock tries again after a growing delay." in output
        assert (
            "  aircall  call.ended:9  received " in output
            and "(1 item(s) to store) after 1 failed attempt(s): Slack couldn't match an email just now" in output
        )
        assert "Rejected items (2 in the last 7 days): not stored; fix the sender or the mapping." in output
        assert (
            ": 2 item(s) rejected\n    321: occurred_at is in the future\n    321:connect: occurred_at is in the future"
            in output
        )
        assert "call.ended:7" not in output  # refused more than a week ago
        assert "a@b.co" not in output
    finally:
        engine.dispose()


def test_linking_a_second_email_keeps_the_first_and_both_match(url: str) -> None:
    """Sam is sam@acme.com in Aircall and sam.smith@acme.com in HubSpot, and Slack knows neither:
    linking the second used to replace the first, whose calls were unmatched again."""
    assert run_pipeday(url, "member", "link", "sam@acme.com", "U0SAM")[0] == 0
    assert run_pipeday(url, "member", "link", "sam.smith@acme.com", "U0SAM")[0] == 0
    code, output = run_pipeday(url, "member", "link", "sam@acme.com", "U0OTHER")
    assert code == 1 and "sam@acme.com is already linked to U0SAM" in output
    items = [
        {"external_id": f"c{n}", "type": "call", "occurred_at": "2026-11-24T10:00:00-05:00", "email": email}
        for n, email in enumerate(["sam@acme.com", "Sam.Smith@acme.com"])
    ]

    def nobody(email: str) -> None:
        raise AssertionError(f"Slack was asked about {email}, a linked email")

    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            report = ingest_items(session, TEAM, "dialer", items, NOW, nobody)
        assert [result.status for result in report.results] == ["created", "created"]
    finally:
        engine.dispose()
