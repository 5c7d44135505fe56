"""`pipeday apikey create|list|revoke` and `pipeday ingest unmatched|retry`: the batch API's keys,
the items parked because nobody could tell whose they were, and vendor deliveries that are
parked, waiting for a retry, or had items refused.

pipeday apikey create zapier
pipeday ingest unmatched
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, team_option, team_session

if TYPE_CHECKING:
    from bot.domain.deliveries import DeliveryIssue

# How far back `ingest unmatched` lists refused items.
REJECTED_DAYS = 7


@click.group(help="API keys for POST /api/v1/activities (only a hash of each key is stored).")
def apikey() -> None:
    pass


@apikey.command("create", help="Make a key named NAME and print it, once: store it in the other tool now.")
@click.argument("name")
@team_option
@pass_state
def apikey_create(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.api_keys import create_key

    with team_session(state, team) as (session, team_id):
        made = create_key(session, team_id, name)
    click.echo(f"API key {made.name} for {team_id} (shown only now; only its hash is stored):")
    click.echo(made.key)
    click.echo("Send it as `Authorization: Bearer <key>` to POST /api/v1/activities.")


@apikey.command("list", help="Keys: name, prefix, created, last used, revoked.")
@team_option
@pass_state
def apikey_list(state: CliState, team: str | None) -> None:
    from bot.domain.api_keys import list_keys

    with team_session(state, team) as (session, team_id):
        keys = list_keys(session, team_id)
        if not keys:
            click.echo("No API keys yet: `pipeday apikey create NAME` makes one.")
            return
        for key in keys:
            created = f"{key.created_at:%Y-%m-%d %H:%M}"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            click.echo(f"{key.name}  {key.prefix}…  created {created}  last used {used}  {revoked}")


@apikey.command("revoke", help="Stop the key named NAME working, at once.")
@click.argument("name")
@team_option
@pass_state
def apikey_revoke(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.api_keys import revoke_key
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        revoke_key(session, team_id, name, utc_now())
    click.echo(f"API key {name} revoked: requests with it now get 401.")


@click.group(help="Activity from other systems.")
def ingest() -> None:
    pass


@ingest.command(
    "unmatched",
    help="Parked items (nobody matched their person), grouped by person key; vendor deliveries that are parked "
    "or waiting for a retry (their vendor's API or Slack failed), with the reason; and the items of the last "
    f"{REJECTED_DAYS} days' deliveries that were refused, with the reasons.",
)
@team_option
@pass_state
def ingest_unmatched(state: CliState, team: str | None) -> None:
    from datetime import timedelta

    from bot.domain.deliveries import parked_deliveries, rejected_items, retrying_deliveries
    from bot.domain.ingestion import parked_items
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        grouped = parked_items(session, team_id)
        deliveries = parked_deliveries(session, team_id)
        retrying = retrying_deliveries(session, team_id)
        rejected = rejected_items(session, team_id, utc_now() - timedelta(days=REJECTED_DAYS))
        if not grouped and not deliveries and not retrying and not rejected:
            click.echo("Nothing parked: every ingested activity was matched to a member.")
            return
        for person_key, rows in grouped.items():
            click.echo(f"{person_key}: {len(rows)} item(s) ({rows[0].reason})")
            for row in rows:
                item = row.item
                click.echo(
                    f"  {row.source}/{row.external_id}  {item.get('quantity')} {item.get('type')}  {item.get('occurred_at')}"
                )
    if grouped:
        click.echo("Link a person to replay theirs: pipeday member link EMAIL|SOURCE:ID USER_ID")
    if deliveries:
        click.echo(f"Parked deliveries ({len(deliveries)}): their work kept failing, or can't work until you act.")
        for delivery in deliveries:
            click.echo(f"  {_described(delivery)}: {delivery.reason}")
        click.echo("Fix the cause, then: pipeday ingest retry [--source NAME]")
    if retrying:
        click.echo(f"Waiting for a retry ({len(retrying)}): the clock tries again after a growing delay.")
        for delivery in retrying:
            click.echo(f"  {_described(delivery)}: {delivery.reason}")
    if rejected:
        total = sum(found.count for found in rejected)
        click.echo(
            f"Rejected items ({total} in the last {REJECTED_DAYS} days): not stored; fix the sender or the mapping."
        )
        for found in rejected:
            click.echo(
                f"  {found.source}  {found.delivery_id}  received {found.received_at:%Y-%m-%d %H:%M}: "
                f"{found.count} item(s) rejected"
            )
            for external_id, reason in found.first:
                click.echo(f"    {external_id}: {reason}")


def _described(delivery: DeliveryIssue) -> str:
    work = ", ".join(
        part
        for part in (
            f"{delivery.items} item(s) to store" if delivery.items else "",
            f"{delivery.jobs} fetch(es)" if delivery.jobs else "",
        )
        if part
    )
    return (
        f"{delivery.source}  {delivery.delivery_id}  received {delivery.received_at:%Y-%m-%d %H:%M}  "
        f"({work or 'nothing left'}) after {delivery.attempts} failed attempt(s)"
    )


@ingest.command("retry", help="Fetch parked deliveries again (all, or one source's): the clock retries them now.")
@click.option("--source", "source_name", default=None, help="Only this source's deliveries.")
@team_option
@pass_state
def ingest_retry(state: CliState, source_name: str | None, team: str | None) -> None:
    from bot.domain.deliveries import requeue_parked
    from bot.domain.webhook_sources import named_source
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        if source_name is not None:
            source_name = named_source(session, team_id, source_name).name
        count = requeue_parked(session, team_id, utc_now(), source_name)
    if not count:
        click.echo("No parked deliveries" + (f" for {source_name}." if source_name else "."))
        return
    click.echo(f"Re-queued {count} parked delivery(ies): the clock fetches them within a minute (pipeday clock).")
