"""`feedpipe bounces ...`: read the bounce mailbox (DSN bounces, ARF complaints) and show the suppressions."""

from __future__ import annotations

from pathlib import Path

import click

from feedpipe.bounces.service import fetch_bounces
from feedpipe.cli.context import Context


def _obj() -> Context:
    obj: Context = click.get_current_context().obj
    return obj


@click.group()
def bounces() -> None:
    """Bounces and complaints: read the bounce mailbox, list the suppression counts."""


@bounces.command("fetch")
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path),
              help="Read this local Maildir instead of the configured mailbox.")
def fetch(maildir: Path | None) -> None:
    """Read the bounce mailbox once ([bounces] imap_host over TLS, or maildir): a hard bounce (5.x.x)
    marks the subscriber bounced, soft ones (4.x.x) are counted ([bounces] soft_limit in soft_days count
    as hard), a complaint unsubscribes; auto-replies and people's answers are never counted."""
    obj = _obj()
    tally = fetch_bounces(obj.app, now=obj.now, maildir=maildir)
    click.echo(f"bounce mailbox: {tally.line()}")
    for problem in tally.problems:
        click.echo(f"  {problem}", err=True)


@bounces.command("suppressed")
def suppressed() -> None:
    """How many addresses are suppressed, by reason (the list holds keyed hashes, not addresses)."""
    counts = _obj().store.suppressions.count()
    for reason, n in sorted(counts.items()):
        click.echo(f"{reason}\t{n}")
    click.echo(f"{sum(counts.values())} suppressed address(es)", err=True)


__all__ = ["bounces"]


COMPLAINT_CEILING = 0.003  # large providers' bulk-sender rules: keep spam complaints under 0.3%
COMPLAINT_WARNING = 0.001  # warn well before it


def complaint_flag(rate: float) -> str:
    """"" under 0.1%, "  warning" above it, "  ABOVE THE CEILING" above 0.3%."""
    if rate > COMPLAINT_CEILING:
        return "  ABOVE THE CEILING"
    return "  warning" if rate > COMPLAINT_WARNING else ""


def show_status(obj: Context, limit: int) -> None:
    """`feedpipe digest status`: per edition, what is known of its delivery, and the complaint rate."""
    rows = list(obj.store.bounces.health(limit))
    if not rows:
        click.echo("no edition has been sent yet")
        return
    click.echo(f"{'edition':<10} {'sent':>6} {'delivered':>9} {'hard':>5} {'soft':>5} {'complaints':>10} "
               f"{'unsubs':>6}  complaint rate (ceiling {COMPLAINT_CEILING:.1%})")
    for h in rows:
        flag = complaint_flag(h.complaint_rate)
        click.echo(f"{h.edition:<10} {h.sent:>6} {h.delivered:>9} {h.hard_bounces:>5} {h.soft_bounces:>5} "
                   f"{h.complaints:>10} {h.unsubscribes:>6}  {h.complaint_rate:.2%}{flag}")
        if flag:
            click.echo(f"warning: {h.edition}: complaint rate {h.complaint_rate:.2%} is above "
                       f"{COMPLAINT_WARNING:.1%}; mailbox providers start filtering at {COMPLAINT_CEILING:.1%}: check "
                       "how the list was collected and that unsubscribing is easy", err=True)
    click.echo("delivered = sent minus hard bounces reported so far; unsubs = unsubscribes until the next edition",
               err=True)
