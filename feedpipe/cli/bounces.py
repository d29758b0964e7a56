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
