"""`feedpipe feeds`: build the RSS, Atom and JSON feeds and index.opml into the public folder."""

from __future__ import annotations

from pathlib import Path

import click

from feedpipe.cli.context import Context
from feedpipe.pipeline import publish_feeds


@click.command()
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the feeds to (default: the config's public folder + /feeds).",
)
@click.option(
    "--all/--changed",
    "build_all",
    default=True,
    show_default=True,
    help="Build every feed, or only those whose articles changed since the last build.",
)
def feeds(out: Path | None, build_all: bool) -> None:
    """Build all.{rss,atom,json}, country/<iso2>.*, topic/<slug>.*, section/<name>.* and index.opml.

    A file is replaced (atomically) only when its bytes change; feeds of tags no longer in use are
    removed. With [feeds] websub_hub set, the hub is pinged for every feed that changed.
    """
    obj: Context = click.get_current_context().obj
    report = publish_feeds(obj.app, now=obj.now, only_dirty=not build_all, out_dir=out)
    if not obj.quiet:
        click.echo(f"{out or obj.settings.feeds_dir}: {report.summary()}")
    for error in report.ping_errors:
        click.echo(f"warning: WebSub ping failed: {error}", err=True)
