"""`pipeday source add|set|map|list|remove` and doctor's findings about webhook sources."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.main import cli
from bot.domain.secret_box import SecretBox
from bot.settings import ConfigurationError
from models import WebhookSource
from models.db import make_engine, make_session_factory

TEAM = "T1"
KEY = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="


def invoke(
    url: str, *args: str, key: str = KEY, public_url: str = "https://pipeday.example.com/", stdin: str | None = None
) -> tuple[int, str]:
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "",
        "PIPEDAY_SECRET_KEY": key,
        "PIPEDAY_PUBLIC_URL": public_url,
    }
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke(database_url, "db", "upgrade")[0] == 0
    assert invoke(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    return database_url


def test_source_add_prints_url_and_secret_once_list_shows_it_remove_drops_it(url: str) -> None:
    code, output = invoke(url, "source", "add", "generic", "--name", "zapier")
    assert code == 0, output
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            stored = session.scalars(select(WebhookSource)).one()
            source_id, encrypted = stored.id, stored.secret_encrypted
        assert (stored.name, stored.kind) == ("zapier", "generic")
        assert f"URL:    https://pipeday.example.com/hooks/generic/{source_id}" in output
        secret = SecretBox(KEY).decrypt(encrypted)
        assert f"Secret: {secret}" in output and secret not in encrypted and len(secret) >= 43
        assert invoke(url, "source", "add", "generic", "--name", "zapier")[0] == 1  # names are unique
        code, listing = invoke(url, "source", "list")
        assert code == 0 and "zapier  generic" in listing and source_id in listing and secret not in listing
        assert invoke(url, "source", "remove", "zapier")[0] == 0
        assert "No webhook sources yet" in invoke(url, "source", "list")[1]
        assert invoke(url, "source", "remove", "zapier")[0] == 1
    finally:
        engine.dispose()


def test_source_add_refuses_unbuilt_kinds_and_a_missing_key(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if bot/adapters/hubspot.py weren't written yet (None in sys.modules: its import fails).
    monkeypatch.setitem(sys.modules, "bot.adapters.hubspot", None)
    code, output = invoke(url, "source", "add", "hubspot")
    assert code == 1 and "The hubspot adapter is not built yet." in output and "Built so far: generic" in output
    code, output = invoke(url, "source", "add", "ringcentral")
    assert code == 1 and "There's no source kind 'ringcentral'." in output
    code, output = invoke(url, "source", "add", "generic", key="")
    assert code == 1 and "PIPEDAY_SECRET_KEY" in output and "Fernet.generate_key()" in output
    code, output = invoke(url, "source", "add", "generic", key="not-a-key")
    assert code == 1 and "PIPEDAY_SECRET_KEY is not a Fernet key" in output
    assert "No webhook sources yet" in invoke(url, "source", "list")[1]


@pytest.mark.parametrize(
    ("kind", "name", "reason"),
    [
        ("generic", "home", "typed in Slack"),
        ("generic", "SLASH", "typed in Slack"),
        ("aircall", "modal", "typed in Slack"),
        ("generic", "api:crm", "colon"),
        ("generic", "apicrm", "starts with api"),
        ("generic", "x" * 61, "1 to 60 characters"),
    ],
)
def test_source_add_refuses_names_pipeday_gives_sources_itself(url: str, kind: str, name: str, reason: str) -> None:
    # A webhook source's name is its activity's source: it mustn't read as typing in Slack or
    # as the batch API's api: namespace.
    code, output = invoke(url, "source", "add", kind, "--name", name, "--secret", "tok")
    assert code == 1 and reason in output, output
    assert "No webhook sources yet" in invoke(url, "source", "list")[1]


def test_doctor_says_when_sources_exist_and_the_key_is_missing(url: str) -> None:
    assert "secrets" not in invoke(url, "doctor", key="")[1]
    assert invoke(url, "source", "add", "generic")[0] == 0
    output = invoke(url, "doctor", key="")[1]
    assert "1 webhook source(s) exist but PIPEDAY_SECRET_KEY is not set" in output
    assert "Fernet.generate_key()" in output
    assert "PIPEDAY_SECRET_KEY set for 1 webhook source(s)" in invoke(url, "doctor")[1]


def test_a_secret_box_needs_the_key_it_was_stored_with() -> None:
    stored = SecretBox(KEY).encrypt("s3cret")
    assert stored != "s3cret" and SecretBox(KEY).decrypt(stored) == "s3cret"
    other = "b3RoZXIta2V5LWZvci1waXBlZGF5LXRlc3RzLTAwMDE="
    with pytest.raises(ConfigurationError, match="can't be decrypted"):
        SecretBox(other).decrypt(stored)


def stored_source(url: str, name: str) -> WebhookSource:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            found = session.scalars(select(WebhookSource).where(WebhookSource.name == name)).one()
            session.expunge(found)
            return found
    finally:
        engine.dispose()


def test_an_aircall_source_checks_the_vendors_token_given_with_secret_or_set_later(url: str) -> None:
    code, output = invoke(url, "source", "add", "aircall", "--secret", "cebcaac65XXXXXXXXXx")
    assert code == 0, output
    made = stored_source(url, "aircall")
    assert f"URL:    https://pipeday.example.com/hooks/aircall/{made.id}" in output
    assert "Secret: the one you gave (the webhook's token from Aircall" in output
    assert "cebcaac65XXXXXXXXXx" not in output and "cebcaac65XXXXXXXXXx" not in made.secret_encrypted
    assert SecretBox(KEY).decrypt(made.secret_encrypted) == "cebcaac65XXXXXXXXXx"

    # Made before Aircall shows the token: the admin is told to paste it with `source set`.
    code, output = invoke(url, "source", "add", "aircall", "--name", "aircall-eu")
    assert code == 0 and "Secret: aircall makes it" in output
    assert "pipeday source set aircall-eu --secret <it>" in output
    generated = SecretBox(KEY).decrypt(stored_source(url, "aircall-eu").secret_encrypted)
    assert generated not in output
    assert invoke(url, "source", "set", "aircall-eu", "--secret", "tok-eu") == (
        0,
        "Source aircall-eu: secret replaced.\n",
    )
    assert SecretBox(KEY).decrypt(stored_source(url, "aircall-eu").secret_encrypted) == "tok-eu"
    assert invoke(url, "source", "set", "aircall-eu")[0] == 2  # nothing to set
    assert invoke(url, "source", "set", "nosuch", "--secret", "x")[0] == 1


def test_an_api_token_is_stored_encrypted_and_listed_only_as_set(url: str) -> None:
    code, output = invoke(
        url,
        "source",
        "add",
        "generic",
        "--name",
        "crm",
        "--api-token",
        "pat-na1-123",
        "--api-url",
        "http://127.0.0.1:9/",
    )
    assert code == 0 and "pat-na1-123" not in output
    made = stored_source(url, "crm")
    assert made.api_token_encrypted is not None and "pat-na1-123" not in made.api_token_encrypted
    assert SecretBox(KEY).decrypt(made.api_token_encrypted) == "pat-na1-123"
    assert made.api_url == "http://127.0.0.1:9"
    code, listing = invoke(url, "source", "list")
    assert "crm  generic" in listing and "API token set (http://127.0.0.1:9)" in listing and "pat-na1" not in listing
    assert invoke(url, "source", "set", "crm", "--api-token", "", "--api-url", "") == (
        0,
        "Source crm: API token removed; API URL back to the vendor's.\n",
    )
    assert "no API token" in invoke(url, "source", "list")[1]
    code, output = invoke(url, "source", "add", "generic", "--name", "bad", "--api-url", "ftp://x")
    assert code == 1 and "--api-url is an https URL" in output


@pytest.mark.parametrize(
    "api_url", ["https://api.hubapi.com", "http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:9"]
)
def test_an_api_url_is_https_or_this_machine(url: str, api_url: str) -> None:
    assert invoke(url, "source", "add", "generic", "--name", "crm", "--api-url", api_url)[0] == 0
    assert stored_source(url, "crm").api_url == api_url


@pytest.mark.parametrize("api_url", ["http://api.hubapi.com", "http://10.0.0.5:8080", "http://127.0.0.1.example.com"])
def test_an_http_api_url_elsewhere_is_refused_the_token_would_travel_in_clear(url: str, api_url: str) -> None:
    """The API token goes with every call: over http anyone on the way could read it."""
    code, output = invoke(url, "source", "add", "generic", "--name", "crm", "--api-url", api_url)
    assert code == 1 and f"--api-url must be https: {api_url} would send the API token unencrypted." in output
    assert "http is accepted only for this machine (http://127.0.0.1:PORT" in output
    assert invoke(url, "source", "add", "generic", "--name", "crm")[0] == 0
    code, output = invoke(url, "source", "set", "crm", "--api-url", api_url)
    assert code == 1 and "must be https" in output
    assert stored_source(url, "crm").api_url is None


def test_a_new_api_token_requeues_the_sources_parked_deliveries(url: str) -> None:
    """Outreach's OAuth tokens expire after about two hours: a refused token parks deliveries at
    once, and setting a new one puts them back in line."""
    from bot.domain.deliveries import claim_delivery
    from models import utc_now
    from models.ingestion import WebhookDelivery

    assert invoke(url, "source", "add", "aircall", "--name", "outreach", "--secret", "tok")[0] == 0
    assert invoke(url, "source", "add", "aircall", "--name", "other", "--secret", "tok2")[0] == 0
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            for name in ("outreach", "other"):
                source_id = session.scalars(select(WebhookSource.id).where(WebhookSource.name == name)).one()
                claim_delivery(session, source_id, "m1", utc_now(), jobs=[{"id": "1"}], parked_reason="refused")
        assert invoke(url, "source", "set", "outreach", "--secret", "tok3") == (
            0,
            "Source outreach: secret replaced.\n",
        )
        assert invoke(url, "source", "set", "outreach", "--api-token", "fresh") == (
            0,
            "Source outreach: API token set.\nRe-queued 1 parked delivery(ies): the clock retries them within a minute.\n",
        )
        with make_session_factory(engine)() as session:
            states = session.execute(
                select(WebhookSource.name, WebhookDelivery.state)
                .join(WebhookSource, WebhookSource.id == WebhookDelivery.source_id)
                .order_by(WebhookSource.name)
            ).all()
        assert [tuple(row) for row in states] == [("other", "parked"), ("outreach", "pending")]
    finally:
        engine.dispose()


def test_source_map_lists_events_changes_one_and_refuses_bad_events_and_types(url: str) -> None:
    assert invoke(url, "source", "add", "aircall", "--secret", "tok")[0] == 0
    code, output = invoke(url, "source", "map", "aircall")
    assert code == 0, output
    assert output.splitlines() == [
        "call.ended           call      a call ended (Aircall's call.ended, inbound or outbound)",
        "call.ended.answered  connect   an ended call that was answered and talked for 30 s or more",
    ]
    assert invoke(url, "source", "map", "aircall", "call.ended.answered", "meetings") == (
        0,
        "aircall: call.ended.answered connect → meeting.\n",
    )
    assert invoke(url, "source", "map", "aircall", "call.ended", "none") == (0, "aircall: call.ended call → none.\n")
    assert stored_source(url, "aircall").mapping == {"call.ended": "", "call.ended.answered": "meeting"}
    listed = invoke(url, "source", "map", "aircall")[1]
    assert "call.ended           none      a call ended" in listed and "(default call)" in listed
    assert "mapping: call.ended → none, call.ended.answered → meeting" in invoke(url, "source", "list")[1]

    code, output = invoke(url, "source", "map", "aircall", "call.hungup", "call")
    assert code == 1 and "aircall has no event 'call.hungup'." in output and "call.ended, call.ended.answered" in output
    code, output = invoke(url, "source", "map", "aircall", "call.ended", "lunch")
    assert code == 1 and "'lunch' isn't an activity type." in output
    assert invoke(url, "source", "map", "aircall", "call.ended")[0] == 2  # a TYPE is needed to change it
    assert stored_source(url, "aircall").mapping == {"call.ended": "", "call.ended.answered": "meeting"}
    assert invoke(url, "source", "map", "aircall", "call.ended", "call")[0] == 0
    assert invoke(url, "source", "map", "aircall", "call.ended.answered", "connect")[0] == 0
    assert stored_source(url, "aircall").mapping is None  # every event back to its default
    assert invoke(url, "source", "add", "generic")[0] == 0
    assert "has no events to map" in invoke(url, "source", "map", "generic")[1]


def test_source_remove_takes_its_deliveries_with_it(url: str) -> None:
    from bot.domain.deliveries import claim_delivery
    from models import utc_now
    from models.ingestion import WebhookDelivery

    assert invoke(url, "source", "add", "aircall", "--secret", "tok")[0] == 0
    assert invoke(url, "source", "add", "aircall", "--name", "other", "--secret", "tok2")[0] == 0
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            for name in ("aircall", "other"):
                source_id = session.scalars(select(WebhookSource.id).where(WebhookSource.name == name)).one()
                claim_delivery(session, source_id, "call.ended:1", utc_now())
        assert invoke(url, "source", "remove", "aircall") == (
            0,
            "Source aircall removed (and 1 delivery record(s)): deliveries to its URL now get 401.\n",
        )
        with make_session_factory(engine)() as session:
            assert session.scalars(select(WebhookSource.name)).all() == ["other"]
            assert len(session.scalars(select(WebhookDelivery)).all()) == 1
    finally:
        engine.dispose()


class NeedsToken:
    """A vendor whose deliveries carry only ids (like HubSpot's app webhooks)."""

    kind = "idsonly"
    events: Mapping[str, str] = {}
    default_mapping: Mapping[str, str] = {}
    needs_api_token = True
    default_api_url = "https://api.example.com"

    def verify(self, request: object, secret: str, now: float) -> str | None:
        return None

    def parse(self, request: object, mapping: object) -> object:
        raise NotImplementedError

    def fetch(self, job: object, api: object, mapping: object) -> list[dict[str, object]]:
        raise NotImplementedError


class SignsTheUri(NeedsToken):
    kind = "hubspot"
    needs_api_token = False


def test_doctor_reports_sources_without_the_token_or_the_public_url_they_need(url: str) -> None:
    from bot.adapters.registry import registered

    with registered(NeedsToken()), registered(SignsTheUri()):  # type: ignore[arg-type]
        code, output = invoke(url, "source", "add", "idsonly", "--name", "crm")
        assert code == 0 and "deliveries that carry only ids need an API token: pipeday source set crm" in output
        assert invoke(url, "source", "add", "hubspot", "--secret", "client-secret")[0] == 0
        code, output = invoke(url, "doctor", public_url="")
        assert "✗ webhooks: source crm (T1): idsonly deliveries that carry only ids need an API token" in output
        assert "pipeday source set crm --api-token T, then pipeday ingest retry --source crm" in output
        assert "✗ webhooks: source hubspot (T1): hubspot signs the full URL it calls" in output
        assert invoke(url, "source", "set", "crm", "--api-token", "t0k")[0] == 0
        output = invoke(url, "doctor")[1]  # PIPEDAY_PUBLIC_URL set, token set: nothing to say
        assert "webhooks" not in output


def test_a_hubspot_source_without_a_token_is_told_workflow_webhooks_with_owner_email_dont_need_one(url: str) -> None:
    code, output = invoke(url, "source", "add", "hubspot", "--secret", "client-secret")
    assert code == 0
    assert "need an API token: pipeday source set hubspot --api-token T" in output
    assert "(workflow webhooks that send owner_email don't need one)" in output
    output = invoke(url, "doctor")[1]
    assert "hubspot deliveries that carry only ids need an API token, and it has none" in output
    assert "(workflow webhooks that send owner_email don't need one)" in output


REFRESH = "refresh:app-id:app-secret:rt-1:https://pipeday.example/outreach/callback"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("refresh:app-id:app-secret", "write it as refresh:CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN[:REDIRECT_URI]"),
        ("refresh::app-secret:rt-1", "write it as refresh:CLIENT_ID"),
        ("refresh:app-id:app-secret:rt-1:callback", "REDIRECT_URI 'callback' isn't a URL"),
        ("oauth2:{not-json", "the stored OAuth token can't be read"),
    ],
)
def test_a_refresh_token_pipeday_cant_read_is_refused_when_given_not_when_a_delivery_needs_it(
    url: str, token: str, problem: str
) -> None:
    code, output = invoke(url, "source", "add", "outreach", "--secret", "s", "--api-token", token)
    assert code == 1 and problem in output, output
    assert "Source outreach" not in output
    assert invoke(url, "source", "add", "outreach", "--secret", "s")[0] == 0
    code, output = invoke(url, "source", "set", "outreach", "--api-token", token)
    assert code == 1 and problem in output, output
    assert stored_source(url, "outreach").api_token_encrypted is None
    assert invoke(url, "source", "set", "outreach", "--api-token", REFRESH) == (0, "Source outreach: API token set.\n")
    sealed = stored_source(url, "outreach").api_token_encrypted
    assert sealed is not None and SecretBox(KEY).decrypt(sealed) == REFRESH


@pytest.mark.parametrize("kind", ["hubspot", "salesloft", "aircall", "generic"])
def test_a_refresh_token_is_refused_for_kinds_without_outreachs_token_endpoint(url: str, kind: str) -> None:
    """It would send the app's client secret to {api}/oauth/token of a vendor that has no such thing."""
    code, output = invoke(url, "source", "add", kind, "--name", "crm", "--secret", "s", "--api-token", REFRESH)
    assert code == 1 and "works only for outreach sources, not " + kind in output, output
    assert invoke(url, "source", "add", kind, "--name", "crm", "--secret", "s", "--api-token", "plain-1")[0] == 0
    code, output = invoke(url, "source", "set", "crm", "--api-token", REFRESH)
    assert code == 1 and "would send your app's client secret" in output
    sealed = stored_source(url, "crm").api_token_encrypted
    assert sealed is not None and SecretBox(KEY).decrypt(sealed) == "plain-1"


def test_secrets_can_be_read_from_stdin_out_of_shell_history_and_ps(url: str) -> None:
    code, output = invoke(
        url, "source", "add", "hubspot", "--secret", "client-secret", "--api-token", "-", stdin="pat-na1-123\n"
    )
    assert code == 0 and "pat-na1-123" not in output
    made = stored_source(url, "hubspot")
    assert made.api_token_encrypted is not None and SecretBox(KEY).decrypt(made.api_token_encrypted) == "pat-na1-123"
    assert SecretBox(KEY).decrypt(made.secret_encrypted) == "client-secret"

    assert invoke(url, "source", "set", "hubspot", "--secret", "-", stdin="new-secret\n") == (
        0,
        "Source hubspot: secret replaced.\n",
    )
    assert SecretBox(KEY).decrypt(stored_source(url, "hubspot").secret_encrypted) == "new-secret"
    assert invoke(url, "source", "set", "hubspot", "--api-token", "-", stdin="pat-na1-456")[0] == 0
    sealed = stored_source(url, "hubspot").api_token_encrypted
    assert sealed is not None and SecretBox(KEY).decrypt(sealed) == "pat-na1-456"

    code, output = invoke(url, "source", "set", "hubspot", "--api-token", "-", stdin="")
    assert code == 2 and "--api-token - reads the value from stdin, and stdin was empty" in output
    assert stored_source(url, "hubspot").api_token_encrypted == sealed  # not cleared
    code, output = invoke(url, "source", "set", "hubspot", "--secret", "-", "--api-token", "-", stdin="x\n")
    assert code == 2 and "Only one of --secret and --api-token can be read from stdin" in output
    for command in ("add", "set"):
        help_text = " ".join(invoke(url, "source", command, "--help")[1].split())
        assert help_text.count("Give - to read it from stdin") == 2, help_text
