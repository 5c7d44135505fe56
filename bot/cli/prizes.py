"""`pipeday prize …` (the wheel's prizes and awards), `pipeday spin verify` and `pipeday spin announce`."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, domain_errors, pass_state, team_option, team_session
from bot.domain.text_input import MAX_RECORD_ID
from bot.domain.wheel import draw_number

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.domain.spins import SpinVerification

# models.competitions' AWARD_PENDING and AWARD_DELIVERED, spelled out because importing models
# loads SQLAlchemy, which `--help` must not (tests/cli/test_cli_help_imports.py checks they match).
AWARD_STATUSES = ("pending", "delivered")


@click.group(help="Prizes on the wheel: weight = relative odds, stock blank = unlimited.")
def prize() -> None:
    pass


@prize.command(
    "add",
    short_help="Add a prize to the wheel.",
    help='Add a prize, e.g. `pipeday prize add "Cowboy boots" --weight 1 --stock 3`.',
)
@click.argument("name")
@click.option("--weight", type=float, default=1.0, show_default=True, help="Relative odds (2 = twice as likely as 1).")
@click.option("--stock", type=click.IntRange(min=0), help="How many there are (leave out for unlimited).")
@team_option
@pass_state
def prize_add(state: CliState, name: str, weight: float, stock: int | None, team: str | None) -> None:
    from bot.domain.prizes import add_prize

    with team_session(state, team) as (session, team_id):
        added = add_prize(session, team_id, name, weight=weight, stock=stock, actor="cli")
        click.echo(f"Added {added.name} (weight {added.weight:g}, stock {_stock(added.stock)}) in {team_id}.")


@prize.command("list", help="List prizes with their current odds (out-of-stock prizes are off the wheel).")
@team_option
@pass_state
def prize_list(state: CliState, team: str | None) -> None:
    from bot.domain.prizes import current_wheel, list_prizes

    with team_session(state, team) as (session, team_id):
        prizes = list_prizes(session, team_id)
        if not prizes:
            click.echo('No prizes yet. Add one: pipeday prize add "Cowboy boots" --stock 3')
            return
        chances = {slot.prize.prize_id: slot.chance for slot in current_wheel(session, team_id)}
        for item in prizes:
            chance = f"{chances[item.id]:6.1%}" if item.id in chances else "  off the wheel (out of stock)"
            click.echo(f"{item.name:<30} weight {item.weight:<8g} stock {_stock(item.stock):<10} {chance}")


@prize.command("remove", help="Take a prize off the wheel (past awards keep it).")
@click.argument("name")
@team_option
@pass_state
def prize_remove(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.prizes import remove_prize

    with team_session(state, team) as (session, team_id):
        removed = remove_prize(session, team_id, name, actor="cli")
        click.echo(f"Removed {removed.name} from the wheel.")


@prize.command(
    "restock",
    short_help="Add N units to a prize's stock.",
    help='Add N units to a prize\'s stock, e.g. `pipeday prize restock "Cowboy boots" 5`.',
)
@click.argument("name")
@click.argument("quantity", type=int)
@team_option
@pass_state
def prize_restock(state: CliState, name: str, quantity: int, team: str | None) -> None:
    from bot.domain.prizes import restock_prize

    with team_session(state, team) as (session, team_id):
        restocked = restock_prize(session, team_id, name, quantity, actor="cli")
        click.echo(f"{restocked.name}: stock is now {restocked.stock}.")


@prize.command("awards", help="Prizes won, newest first, with delivery status.")
@click.option("--status", type=click.Choice(AWARD_STATUSES), help="Only pending or delivered.")
@team_option
@pass_state
def prize_awards(state: CliState, status: str | None, team: str | None) -> None:
    from bot.domain.spins import list_awards

    with team_session(state, team) as (session, team_id):
        awards = list_awards(session, team_id, status)
        if not awards:
            click.echo("No awards yet." if status is None else f"No {status} awards.")
        for award in awards:
            delivered = f" by {award.delivered_by} {award.delivered_at:%Y-%m-%d}" if award.delivered_at else ""
            click.echo(
                f"#{award.spin_id:<5} {award.local_date:%Y-%m-%d} {award.competition:<16} {award.region:<8} "
                f"{award.name} ({award.user_id}) won {award.prize} — {award.status}{delivered}"
            )


@prize.command("deliver", help="Mark an award delivered (same as the Slack button), by its # from `prize awards`.")
@click.argument("award_id", type=click.IntRange(1, MAX_RECORD_ID))
@team_option
@pass_state
def prize_deliver(state: CliState, award_id: int, team: str | None) -> None:
    from bot.domain.errors import NotFound
    from bot.domain.spins import mark_delivered
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        try:
            outcome = mark_delivered(session, team_id, award_id, actor="cli", now=utc_now())
        except NotFound:  # the domain counts spins; here the same number is an award's
            raise click.ClickException(
                f"There's no award #{award_id}. `pipeday prize awards` lists them with their numbers."
            ) from None
        verb = "Marked" if outcome.changed else "Already marked"
        click.echo(f"{verb} award #{award_id} ({outcome.spin.prize_name}) delivered.")


@click.group(help="Spins of the prize wheel.")
def spin() -> None:
    pass


@spin.command("verify", help="Recompute a spin from its revealed seed and the published commitment.")
@click.argument("spin_id", type=int)
@pass_state
def spin_verify(state: CliState, spin_id: int) -> None:
    from bot.domain.spins import verify_spin

    with state.transaction() as session, domain_errors():
        result = verify_spin(session, spin_id)
    for line in verification_report(result):
        click.echo(line)
    if not result.ok:
        raise click.ClickException(f"spin #{spin_id} does NOT verify: {result.problem}")


@spin.command(
    "announce",
    help="Finish a spin's announcement (wheel GIF, channel post, DM, results message) that Slack did not take. "
    "Posts only what is missing; never spins again.",
)
@click.argument("spin_id", type=int)
@pass_state
def spin_announce(state: CliState, spin_id: int) -> None:
    from bot.posting.retrying import NO_RETRY
    from bot.posting.spin_announcements import announce_spin
    from models import utc_now

    client, session_factory = _spin_client(state, spin_id), state.session_factory()
    with domain_errors():
        outcome = announce_spin(client, session_factory, spin_id, utc_now, NO_RETRY)
    if outcome.status == "already":
        click.echo(f"Spin #{spin_id} was announced already; nothing was posted.")
    else:
        click.echo(f"Announced spin #{spin_id}.")


def _spin_client(state: CliState, spin_id: int) -> WebClient:
    """SLACK_BOT_TOKEN's client, or (SLACK_CLIENT_ID) the client of the spin's workspace."""
    from bot.app import make_web_client

    if not state.settings.multi_workspace:
        if not state.settings.bot_token:
            raise click.ClickException("SLACK_BOT_TOKEN is not set: announcing a spin posts to Slack.")
        return make_web_client(state.settings)
    from bot.domain.spins import get_spin
    from bot.installs.clients import WorkspaceNotServed
    from bot.scheduler.workspaces import clock_runtime
    from bot.settings import ConfigurationError

    with state.transaction() as session, domain_errors():
        team_id = get_spin(session, None, spin_id).team_id
    try:
        return clock_runtime(state.settings, state.session_factory()).client_for(team_id)
    except WorkspaceNotServed as not_served:
        raise click.ClickException(f"Spin #{spin_id} can't be announced: {not_served}.") from None
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def verification_report(result: SpinVerification) -> list[str]:
    """Every number someone needs to redo the check by hand (see docs/wheel-fairness.md)."""
    number = draw_number(result.seed, result.context)
    fraction = Fraction(number, 2**256)
    lines = [
        f"Spin #{result.spin_id}: awarded segment {result.recorded_index} ({result.recorded_prize})",
        f"1. commitment published with the results: {result.commitment}",
        f"   seed revealed after the spin:            {result.seed}",
        f"   sha256(seed) matches the commitment:     {'yes' if result.recomputed_index is not None else 'NO'}",
        f"2. context: {result.context}",
        f"   n = HMAC-SHA256(key=seed, msg=context) = 0x{number:064x}",
        f"   n / 2^256 = {float(fraction):.6f} of the way round the wheel",
        "3. wheel (ascending prize id): index, prize, weight, chance, covers",
    ]
    total = sum(Fraction(str(s.weight)) for s in result.segments)
    cumulative = Fraction(0)
    for index, (segment, chance) in enumerate(zip(result.segments, result.chances, strict=True)):
        low = cumulative / total
        cumulative += Fraction(str(segment.weight))
        lines.append(
            f"   {index}  {segment.name:<28} weight {segment.weight:<8g} {chance:6.1%}  "
            f"[{float(low):.6f}, {float(cumulative / total):.6f})"
        )
    if result.recomputed_index is not None:
        drawn = result.segments[result.recomputed_index].name
        lines.append(f"4. the point falls in segment {result.recomputed_index}: {drawn}")
    lines.append("✓ verified" if result.ok else f"✗ {result.problem}")
    return lines


def _stock(stock: int | None) -> str:
    return "unlimited" if stock is None else str(stock)
