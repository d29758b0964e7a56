"""The spine's commands: run, ingest, sources, articles, retag, check-config."""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import feedpipe.ingest as ingest_service
from feedpipe.cli.context import EXIT_OK, EXIT_SOURCES_FAILED, Context
from feedpipe.core.model import Article, Source
from feedpipe.core.redact import redact
from feedpipe.core.runtime import current_platform_warnings


def console() -> Console:
    """stdout; wide enough for the tables when it is not a terminal (cron mail, pipes)."""
    return Console(width=None if sys.stdout.isatty() else 160)


STATUS_STYLE = {"ok": "green", "not-modified": "cyan", "error": "red", "waiting": "yellow", "not-due": "dim",
                "backoff": "yellow", "paused": "magenta", "resumed": "cyan"}


@contextlib.contextmanager
def progress_bar(quiet: bool, label: str) -> Iterator[ingest_service.Progress | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise (cron, pipes, tests)."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[current]}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(label, total=None, current="")

        def update(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, current=name[:40])

        yield update


def print_ingest_summary(report: ingest_service.IngestReport, *, quiet: bool) -> None:
    if quiet:
        return
    table = Table(title="ingest summary", title_justify="left")
    for col in ("source", "status", "new", "updated", "unchanged", "failed", "reason"):
        table.add_column(col, justify="right" if col in ("new", "updated", "unchanged", "failed") else "left")
    for r in report.results:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(r.name, f"[{style}]{r.status}[/]" if style else r.status, str(r.new), str(r.updated),
                      str(r.unchanged), str(r.failed), redact(r.error or ""))
    table.add_row("[b]total[/]", "", str(report.total("new")), str(report.total("updated")),
                  str(report.total("unchanged")), str(report.total("failed")), "")
    console().print(table)


@click.command()
@click.option("--force", is_flag=True, help="Fetch every source now, ignoring per-source intervals, backoff and "
              "Retry-After; paused sources stay paused (`feedpipe sources --resume NAME`).")
@click.pass_obj
def run(obj: Context, force: bool) -> int:
    """One full cycle, for cron: ingest every source, tag, rebuild the feeds that changed, and
    build and send the digest when an edition is due and not yet sent.

    Safe to call every few minutes: the send ledger decides what is sent, so an edition is never
    sent twice. Refuses to run (exit code 4) while `feedpipe serve` or another `run` holds the
    store's scheduler lease. Exit code 3 when some sources failed (the others were processed)."""
    from feedpipe import pipeline  # noqa: PLC0415 -- here: `ingest` and the listings never need them
    from feedpipe.scheduler.lease import hold_lease, make_holder  # noqa: PLC0415

    app = obj.app
    with hold_lease(app, holder=make_holder("run")), progress_bar(obj.quiet, "ingest") as progress:
        report = pipeline.run_cycle(app, now=app.now, force=force, progress=progress)
    print_ingest_summary(report.ingest, quiet=obj.quiet)
    if not obj.quiet:
        for line in report.lines():
            click.echo(line)
    return EXIT_SOURCES_FAILED if report.ingest.failed_sources else EXIT_OK


@click.command()
@click.argument("locations", nargs=-1, metavar="[PATH|URL]...")
@click.option("--force", is_flag=True, help="Ignore per-source intervals, backoff and Retry-After (not a pause).")
@click.pass_obj
def ingest(obj: Context, locations: tuple[str, ...], force: bool) -> int:
    """Ingest every configured source, or only the given files, folders and URLs (no config entry
    needed: a URL is read as a feed, a page when it is not one; files by their format)."""
    app = obj.app
    sources = ingest_service.adhoc_sources(locations) if locations else None
    with progress_bar(obj.quiet, "ingest") as progress:
        report = ingest_service.ingest(app, now=app.now, sources=sources, force=force or bool(locations),
                                 progress=progress)
    print_ingest_summary(report, quiet=obj.quiet)
    return EXIT_SOURCES_FAILED if report.failed_sources else EXIT_OK


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines instead of a table.")
@click.option("--resume", "resume_name", metavar="NAME",
              help="Lift a paused source's pause and forget its failures (as `sources resume NAME`).")
@click.pass_context
def sources(ctx: click.Context, as_json: bool, resume_name: str | None) -> int | None:
    """Each configured source with its last fetch time, status (`paused` after too many failures in a
    row), consecutive failures, next try, error and article counts."""
    if ctx.invoked_subcommand is not None:
        return None
    obj: Context = ctx.obj
    if resume_name is not None:
        return _resume(obj, resume_name)
    _list_sources(obj, as_json)
    return None


@sources.command("resume")
@click.argument("name")
@click.pass_obj
def resume(obj: Context, name: str) -> int:
    """Lift a paused source's pause and forget its failures: it is fetched at the next run."""
    return _resume(obj, name)


def _resume(obj: Context, name: str) -> int:
    app = obj.app
    before = app.store.sources.state(name)
    if before is None or app.store.sources.resume(name) is None:
        if name in {s.name for s in app.settings.sources}:
            click.echo(f"{name} has never been fetched: nothing to resume")
            return EXIT_OK
        known = ", ".join(s.name for s in app.settings.sources) or "none configured"
        raise click.BadParameter(f"no source is named {name!r} (sources: {known})", param_hint="NAME")
    if not obj.quiet:
        if before.paused:
            click.echo(f"resumed {name}: it is fetched at the next run")
        else:
            click.echo(f"{name} was not paused; its {before.failures} failure(s) in a row are forgotten")
    return EXIT_OK


def _list_sources(obj: Context, as_json: bool) -> None:
    app = obj.app
    states = {s.name: s for s in app.store.sources.states()}
    configured = {s.name: s for s in app.settings.sources}
    names = [s.name for s in app.settings.sources] + sorted(set(states) - set(configured))
    every = app.settings.schedule.ingest_minutes
    # on PostgreSQL with workers: which worker holds a source's ingest now
    held = {} if app.store.is_sqlite else {t.key: t.claimed_by for t in app.store.work.open_tasks()
                                           if t.kind == "ingest" and t.claimed_by}

    def next_try(name: str) -> datetime | None:
        st, src = states.get(name), configured.get(name)
        if st is None or src is None or ingest_service.is_paused(src, st):
            return None
        return ingest_service.next_fetch_at(src, st, default_minutes=every, backoff_minutes=every)

    if as_json:
        for name in names:
            st = states.get(name)
            when = next_try(name)
            click.echo(json.dumps({
                "name": name, "status": st.status if st else "never-fetched",
                "last_fetch": st.last_fetch_at.isoformat() if st and st.last_fetch_at else None,
                "error": redact(st.error) if st and st.error else None, "articles": st.total_articles if st else 0,
                "last_new": st.last_new if st else 0, "last_updated": st.last_updated if st else 0,
                "last_failed": st.last_failed if st else 0, "failures": st.failures if st else 0,
                "paused": bool(st and st.paused),
                "paused_at": st.paused_at.isoformat() if st and st.paused_at else None,
                "next_fetch": when.isoformat() if when else None,
                "claimed_by": held.get(name),
            }))
        return
    table = Table(title="sources", title_justify="left")
    for col in ("name", "kind", "last fetch (UTC)", "status", "articles", "new", "failed", "failures",
                "next try (UTC)", "error"):
        table.add_column(col)
    for name in names:
        st = states.get(name)
        kind = configured[name].kind if name in configured else (st.kind if st else "")
        status = (st.status if st else None) or "never fetched"
        style = STATUS_STYLE.get(status, "")
        if name in held:
            status += f" (worker {held[name]})"
        when = next_try(name)
        table.add_row(
            name, kind, f"{st.last_fetch_at:%Y-%m-%d %H:%M}" if st and st.last_fetch_at else "-",
            f"[{style}]{status}[/]" if style else status, str(st.total_articles if st else 0),
            str(st.last_new if st else 0), str(st.last_failed if st else 0), str(st.failures if st else 0),
            "-" if name not in configured or (st and st.paused) else f"{when:%Y-%m-%d %H:%M}" if when else "next run",
            redact(st.error or "") if st else "",
        )
    console().print(table)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def article_json(a: Article) -> dict[str, object]:
    return {
        "id": a.id, "url": a.url, "title": a.title, "text": a.text, "summary": a.summary,
        "published": a.published_at.isoformat() if a.published_at else None,
        "updated": a.updated_at.isoformat() if a.updated_at else None,
        "source": a.source, "section": a.section, "authors": list(a.authors), "image": a.image,
        "language": a.language,
        "countries": [{"code": c.code, "name": c.name, "role": c.role, "score": c.score} for c in a.countries],
        "topics": [{"code": t.code, "label": t.label, "score": t.score} for t in a.topics],
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: id, url, title, text, published, countries, topics, section, ...")
@click.option("--since", help="Published on or after (YYYY-MM-DD or ISO time, UTC unless given).")
@click.option("--until", help="Published before (YYYY-MM-DD or ISO time).")
@click.option("--source", help="Only this source (its name).")
@click.option("--country", help="Only articles tagged with this country: an ISO code or a name (UA, ua, Ukraine).")
@click.option("--focus", is_flag=True, help="With --country: only where it is a focus country.")
@click.option("--topic", help="Topic code (medtop:11000000, sub:sanctions), feed slug (politics, sub-sanctions) "
              "or label.")
@click.option("--section", help="news, feature, analysis, opinion, ...")
@click.option("--language", help="Only articles in this language (e.g. uk; pt also matches pt-BR).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.pass_obj
def articles(obj: Context, as_json: bool, since: str | None, until: str | None, source: str | None,
             country: str | None, focus: bool, topic: str | None, section: str | None, language: str | None,
             limit: int) -> None:
    """Stored articles, newest first, filterable by date, source, country, topic, section and language."""
    from feedpipe.tagging.names import UnknownChoice, country_code  # noqa: PLC0415 -- this command only

    app = obj.app
    try:
        country = country_code(country) if country else None
        topic = obj.topic_names.code(topic) if topic else None
    except UnknownChoice as exc:
        raise click.BadParameter(f"{exc.message}; {exc.hint}", param_hint=f"--{exc.kind}") from None
    if source is not None:
        _known_source(app.settings.sources, [st.name for st in app.store.sources.states()], source)
    rows = app.store.articles.query(since=_date(since), until=_date(until), source=source, country=country,
                              country_role="focus" if focus else None, topic=topic, section=section,
                              limit=limit, language=language)
    if as_json:
        for a in rows:
            click.echo(json.dumps(article_json(a), ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} articles", title_justify="left")
    for col in ("published", "section", "lang", "countries", "topics", "title"):
        table.add_column(col)
    for a in rows:
        table.add_row(f"{a.published_at:%Y-%m-%d %H:%M}" if a.published_at else "-", a.section or "",
                      a.language or "-", countries_shown(a),
                      "; ".join(obj.topic_names.label(t.code) for t in a.topics[:3]), a.title)
    console().print(table)


def _known_source(configured: tuple[Source, ...], stored: list[str], name: str) -> None:
    """--source names a configured or once-fetched source; else the closest names."""
    names = list(dict.fromkeys([s.name for s in configured] + stored))
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else f"sources: {', '.join(names) or 'none yet'}"
    raise click.BadParameter(f"no source is named {name!r}; {hint}", param_hint="--source")


def countries_shown(article: Article) -> str:
    """Focus countries by name, then the ones only mentioned in brackets: "Ukraine, (Russia)" (topics,
    whose labels hold commas, are separated by semicolons)."""
    from feedpipe.tagging.names import country_name  # noqa: PLC0415 -- the articles command only

    focus = [country_name(c.code) for c in article.countries if c.role == "focus"]
    mentions = [f"({country_name(c.code)})" for c in article.countries if c.role != "focus"]
    return ", ".join(focus + mentions)


@click.command()
@click.pass_obj
def retag(obj: Context) -> None:
    """Recompute country, topic and section tags of every stored article (after the gazetteer,
    taxonomy or subtopics changed); feeds of changed articles are rebuilt on the next run."""
    app = obj.app
    with progress_bar(obj.quiet, "retag") as progress:
        seen, changed = ingest_service.retag(app, now=app.now, progress=progress)
    if not obj.quiet:
        click.echo(f"retagged {seen} articles; tags changed on {changed}")


@click.command("check-config")
@click.pass_obj
def check_config(obj: Context) -> None:
    """Validate the configuration and list the sources; exit code 2 with every problem if invalid.
    Warns about a platform with known flaws (an old XML parser, a Python without the email header fix)."""
    s = obj.app.settings
    click.echo(f"config: {s.path or 'built-in defaults'}")
    click.echo(f"store:  {redact(s.store_url)}")
    click.echo(f"public: {s.public_dir}")
    for src in s.sources:
        click.echo(f"source: {src.name} ({src.kind}) {redact(src.location)}")
        if src.kind == "file" and not Path(src.location).exists():
            click.echo(f"warning: source {src.name}: {src.location} does not exist; that source fails at ingest "
                       "(the others are ingested) until it does")
    for warning in current_platform_warnings():
        click.echo(f"warning: {warning}")
    click.echo("configuration is valid")
