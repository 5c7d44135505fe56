"""`pipeday source add|set|map|list|remove`: where vendors' webhooks arrive (bot/hooks.py).

pipeday source add generic --name zapier
pipeday source add aircall --secret <the webhook's token from Aircall>
pipeday source map outreach call.answered meeting
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, team_option, team_session

if TYPE_CHECKING:
    from bot.domain.secret_box import SecretBox


@click.group(help="Webhook sources: the URL a vendor posts to, its secret, its API token and its event mapping.")
def source() -> None:
    pass


def _box(state: CliState) -> SecretBox:
    from bot.domain.secret_box import SecretBox
    from bot.settings import ConfigurationError

    try:
        return SecretBox(state.settings.secret_key)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


STDIN = "-"
STDIN_HELP = " Give - to read it from stdin (or type it unseen at a prompt), out of shell history and ps."


def _secrets_read(secret: str | None, api_token: str | None) -> tuple[str | None, str | None]:
    """--secret and --api-token, with `-` read from stdin: piped (`pass show … | pipeday source
    set NAME --api-token -`) or typed at a prompt that doesn't echo it."""
    if secret == STDIN and api_token == STDIN:
        raise click.UsageError("Only one of --secret and --api-token can be read from stdin (-) at a time.")
    return _read_stdin(secret, "--secret"), _read_stdin(api_token, "--api-token")


def _read_stdin(value: str | None, option: str) -> str | None:
    if value != STDIN:
        return value
    if sys.stdin.isatty():
        typed = click.prompt(option.removeprefix("--").replace("-", " ").capitalize(), hide_input=True)
        return str(typed).strip()
    read = sys.stdin.read().strip()
    if not read:
        raise click.UsageError(f"{option} - reads the value from stdin, and stdin was empty.")
    return read


def _base_url(state: CliState) -> str:
    return state.settings.public_url or "<PIPEDAY_PUBLIC_URL>"


@source.command(
    "add",
    short_help="Add a source of KIND and print its URL and secret, once.",
    help="Add a source of KIND (generic, hubspot, outreach, salesloft, aircall: those built so far) and print "
    "the URL to paste into the vendor and the secret, once. --secret uses the vendor's own secret instead "
    "(HubSpot's client secret, Salesloft's callback token, Aircall's webhook token); --api-token lets "
    "Pipeday fetch what id-only deliveries leave out (stored encrypted, like the secret). "
    "--secret - or --api-token - reads the value from stdin (a prompt that doesn't echo it on a terminal), "
    "so it stays out of shell history and ps.",
)
@click.argument("kind")
@click.option("--name", default=None, help="The source's name (default: KIND); activities' default source.")
@click.option(
    "--secret", default=None, help="The vendor's signing secret or token, when the vendor makes it." + STDIN_HELP
)
@click.option(
    "--api-token",
    default=None,
    help="A token for the vendor's API (HubSpot private app token, …). Outreach's access tokens last 2 "
    "hours; this one renews itself: refresh:CLIENT_ID:SECRET:REFRESH_TOKEN[:REDIRECT_URI] (Outreach "
    "only; checked now)." + STDIN_HELP,
)
@click.option("--api-url", default=None, help="The vendor's API base URL, when not its default.")
@team_option
@pass_state
def source_add(
    state: CliState,
    kind: str,
    name: str | None,
    secret: str | None,
    api_token: str | None,
    api_url: str | None,
    team: str | None,
) -> None:
    from bot.domain.webhook_sources import TOKENLESS_USE, VENDOR_SECRETS, add_source, hook_path, require_adapter

    secret, api_token = _secrets_read(secret, api_token)
    box = _box(state)
    with team_session(state, team) as (session, team_id):
        made = add_source(session, team_id, kind, name, box, secret=secret, api_token=api_token, api_url=api_url)
        adapter = require_adapter(made.kind)
    click.echo(f"Source {made.name} ({made.kind}) for {team_id}. Paste into the sender:")
    click.echo(f"  URL:    {_base_url(state)}{hook_path(made.kind, made.id)}")
    vendor_secret = VENDOR_SECRETS.get(made.kind)
    if vendor_secret is not None and made.secret_from_vendor:
        click.echo(f"  Secret: the one you gave ({vendor_secret}); Pipeday checks deliveries with it.")
    elif vendor_secret is not None:
        click.echo(f"  Secret: {made.kind} makes it — {vendor_secret}.")
        click.echo(f"Once you have it: pipeday source set {made.name} --secret <it>. Until then deliveries get 401.")
    else:
        click.echo(f"  Secret: {made.secret}")
        click.echo("The secret is shown only now.")
    if made.kind == "generic":
        click.echo("Sign each POST with X-Pipeday-Timestamp (unix seconds) and")
        click.echo("X-Pipeday-Signature: v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>.")
    if adapter.needs_api_token and not made.api_token_set:
        click.echo(
            f"{made.kind} deliveries that carry only ids need an API token: pipeday source set {made.name} "
            "--api-token T (until then they're parked, not lost)" + TOKENLESS_USE.get(made.kind, "") + "."
        )
    if state.settings.public_url is None:
        click.echo("PIPEDAY_PUBLIC_URL isn't set: put this app's public base URL in front of the path.")


@source.command(
    "set",
    help="Change the source NAME's secret, API token or API URL (an empty --api-token or --api-url clears it). "
    "A new API token or URL re-queues the source's parked deliveries (a refused or expired token parks them).",
)
@click.argument("name")
@click.option("--secret", default=None, help="The vendor's signing secret or token." + STDIN_HELP)
@click.option(
    "--api-token", default=None, help="A token for the vendor's API (or refresh:… as for source add)." + STDIN_HELP
)
@click.option("--api-url", default=None, help="The vendor's API base URL.")
@team_option
@pass_state
def source_set(
    state: CliState, name: str, secret: str | None, api_token: str | None, api_url: str | None, team: str | None
) -> None:
    if secret is None and api_token is None and api_url is None:
        raise click.UsageError("Give --secret, --api-token and/or --api-url.")
    secret, api_token = _secrets_read(secret, api_token)
    from bot.domain.deliveries import requeue_parked
    from bot.domain.webhook_sources import update_source
    from models import utc_now

    box = _box(state)
    with team_session(state, team) as (session, team_id):
        changed_source, changed = update_source(
            session, team_id, name, box, secret=secret, api_token=api_token, api_url=api_url
        )
        source_name = changed_source.name
        fetches_may_work = bool(api_token and api_token.strip()) or bool(api_url and api_url.strip())
        requeued = requeue_parked(session, team_id, utc_now(), source_name) if fetches_may_work else 0
    click.echo(f"Source {source_name}: {'; '.join(changed)}.")
    if requeued:
        click.echo(f"Re-queued {requeued} parked delivery(ies): the clock retries them within a minute.")


@source.command(
    "map",
    short_help="Show or change which activity type each vendor event stores.",
    help="`pipeday source map NAME` lists the source's events and the activity type each stores; "
    "`pipeday source map NAME EVENT TYPE` changes one (TYPE: an activity type or alias, or `none` to ignore it). "
    "The next delivery uses it.",
)
@click.argument("name")
@click.argument("event", required=False)
@click.argument("type_word", metavar="TYPE", required=False)
@team_option
@pass_state
def source_map(state: CliState, name: str, event: str | None, type_word: str | None, team: str | None) -> None:
    from bot.domain.webhook_sources import map_event, source_events

    if event is not None and type_word is None:
        raise click.UsageError("Give both EVENT and TYPE to change a mapping, or neither to list them.")
    with team_session(state, team) as (session, team_id):
        if event is not None and type_word is not None:
            before, after = map_event(session, team_id, name, event, type_word)
            click.echo(f"{name}: {event} {_shown(before)} → {_shown(after)}.")
            return
        found, events = source_events(session, team_id, name)
        kind = found.kind
    if not events:
        click.echo(f"{name} ({kind}) has no events to map: its items name their own type.")
        return
    width = max(len(mapping.event) for mapping in events)
    for mapping in events:
        changed = "" if mapping.type == mapping.default else f"  (default {_shown(mapping.default)})"
        click.echo(f"{mapping.event:<{width}}  {_shown(mapping.type):<8}  {mapping.description}{changed}")


def _shown(activity_type: str) -> str:
    return activity_type or "none"


@source.command("list", help="Sources: name, kind, URL, API token, mapping changes, created.")
@team_option
@pass_state
def source_list(state: CliState, team: str | None) -> None:
    from bot.domain.webhook_sources import hook_path, list_sources, mapping_changes

    with team_session(state, team) as (session, team_id):
        sources = list_sources(session, team_id)
        if not sources:
            click.echo("No webhook sources yet: `pipeday source add generic --name NAME` makes one.")
            return
        for found in sources:
            url = f"{_base_url(state)}{hook_path(found.kind, found.id)}"
            token = "API token set" if found.api_token_encrypted else "no API token"
            api_url = f" ({found.api_url})" if found.api_url else ""
            changes = mapping_changes(found)
            mapped = ", ".join(f"{event} → {_shown(kind)}" for event, kind in sorted(changes.items()))
            click.echo(
                f"{found.name}  {found.kind}  {url}  {token}{api_url}  "
                f"mapping: {mapped or 'defaults'}  created {found.created_at:%Y-%m-%d %H:%M}"
            )


@source.command("remove", help="Remove the source named NAME and its deliveries: its URL answers 401 from now on.")
@click.argument("name")
@team_option
@pass_state
def source_remove(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.webhook_sources import remove_source

    with team_session(state, team) as (session, team_id):
        removed, deliveries = remove_source(session, team_id, name)
        removed_name = removed.name
    click.echo(
        f"Source {removed_name} removed (and {deliveries} delivery record(s)): deliveries to its URL now get 401."
    )
