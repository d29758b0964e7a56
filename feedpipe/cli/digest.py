"""`feedpipe digest ...`: build, preview, pick articles, send exactly once, settle uncertain messages.

Each command reads the click context's `obj` (a `feedpipe.cli.context.Context`): `.store`, `.settings`
(`.digest`, `.mail`, `.feeds_public_url`, `.digest_dir`, `.templates_dir`), `.now` (the app's clock)
and `.transport()`. The mailing list's commands are in `feedpipe.cli.subscribers`.
"""

from __future__ import annotations

import getpass
import webbrowser
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import click

from feedpipe import pipeline
from feedpipe.bounces.service import return_paths
from feedpipe.cli.bounces import show_status
from feedpipe.cli.context import Context, InputError
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Article, SendReport, Subscriber
from feedpipe.digest import picks as picking
from feedpipe.digest.build import build_edition, load_edition
from feedpipe.digest.editions import due_edition, edition_key, parse_key, send_time
from feedpipe.digest.send import dry_run, send_edition, send_test
from feedpipe.extract.urls import canonical_url
from feedpipe.files import write_file
from feedpipe.mailer import OutboxTransport


def _obj() -> Context:
    obj: Context = click.get_current_context().obj
    return obj


def _parse_week(week: str) -> str:
    try:
        parse_key(week)
    except FeedpipeError as exc:
        raise InputError.of(exc) from None
    return week


def _week(obj: Context, week: str | None) -> str:
    if week:
        return _parse_week(week)
    return edition_key(obj.now, obj.settings.digest)


def _article(obj: Context, url: str) -> Article:
    article = obj.store.articles.by_url(canonical_url(url)) or obj.store.articles.by_url(url)
    if article is None:
        raise InputError(f"no stored article has the URL {url}", "ingest it first (`feedpipe ingest`), then pick it")
    return article


def _actor() -> str:
    """Who the edition log names for a change made on the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _open_for_picks(obj: Context, key: str) -> str:
    """`key`, when its picks may still change: an edition being sent or sent keeps the picks it went out
    with, so its archive page stays the email that was sent."""
    edition = obj.store.editions.get(key)
    if edition is not None and edition.status != "building":
        raise InputError(f"{key} is {edition.status}: its picks can no longer change",
                         "pick for the next edition with --week (see `feedpipe digest schedule`)")
    return key


def refresh_web_view(obj: Context, key: str) -> None:
    """Rebuild the edition's web view (`public/digest/<key>.html`, what the archive serves) after its
    picks, order or sending changed, so the page shows what the email holds. A failure is reported and
    leaves the command's own work done."""
    try:
        pipeline.build_edition_view(obj.store, obj.settings, key, now=obj.now)
    except FeedpipeError as exc:
        click.echo(f"warning: the web view of {key} was not rebuilt: {exc.message}"
                   + (f" (hint: {exc.hint})" if exc.hint else ""), err=True)


week_option = click.option("--week", metavar="YYYY-Www", help="The edition, an ISO week such as 2026-W48 "
                           "(default: this week's, in the outlet's time zone).")


@click.group()
def digest() -> None:
    """The weekly digest: build, preview, pick articles, send exactly once."""


@digest.command()
@week_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the web view (<key>.html) and one .eml per subscriber in <key>/ "
                   "(default: <public>/digest and <outbox>/<key>).")
def build(week: str | None, out: Path | None) -> None:
    """Write the edition's web view and one .eml per active subscriber (nothing is sent)."""
    obj = _obj()
    key = _week(obj, week)
    s = obj.settings
    web_dir = out or s.digest_dir
    web = build_edition(obj.store, s.digest, s.feeds_public_url, key, obj.now, web_dir,
                        templates_dir=s.templates_dir, mode=s.file_mode)
    eml_dir = (out / key) if out else (Path(s.mail.outbox) / key)
    loaded = load_edition(obj.store, s.digest, key, obj.now, feeds_public_url=s.feeds_public_url,
                          templates_dir=s.templates_dir)
    outbox = OutboxTransport(eml_dir)
    for subscriber in obj.store.subscribers.iter("active"):
        data, mid = loaded.message_bytes(subscriber, obj.now)
        outbox.send(data, sender="", recipients=[subscriber.email], message_id=mid)
    click.echo(f"{key}: web view {web}")
    click.echo(f"{key}: {outbox.sent} message(s) in {eml_dir}")


@digest.command()
@week_option
@click.option("--to", "address", metavar="ADDRESS", help="Preview the personal edition of this subscriber.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="Where to write the preview.")
@click.option("--open/--no-open", "open_it", default=True, show_default=True, help="Open it in a web browser.")
def preview(week: str | None, address: str | None, out: Path | None, open_it: bool) -> None:
    """Write one email (HTML and .eml) as a subscriber would get it, and open it in a browser."""
    obj = _obj()
    key = _week(obj, week)
    s = obj.settings
    loaded = load_edition(obj.store, s.digest, key, obj.now, feeds_public_url=s.feeds_public_url,
                          templates_dir=s.templates_dir)
    subscriber = None
    if address:
        subscriber = obj.store.subscribers.get(address)
        if subscriber is None:
            raise InputError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
    subscriber = subscriber or Subscriber(email="reader@example.org", status="active", token="preview")
    data, _ = loaded.message_bytes(subscriber, obj.now)
    msg = message_from_bytes(data, policy=policy.default)
    html_part = msg.get_body(("html",))
    html = html_part.get_content() if html_part is not None else ""
    folder = out or Path(s.mail.outbox) / "preview"
    html_path = folder / f"{key}-preview.html"
    eml_path = folder / f"{key}-preview.eml"
    write_file(html_path, html.encode("utf-8"))
    write_file(eml_path, data)
    click.echo(f"subject: {msg['Subject']}")
    click.echo(f"html: {html_path}")
    click.echo(f"eml: {eml_path}")
    if open_it:
        webbrowser.open(html_path.resolve().as_uri())


@digest.command()
@week_option
@click.option("--dry-run", "rehearse", is_flag=True,
              help="Build every message and send none; the ledger is not touched.")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Send a test copy to this address only (repeatable); the ledger is not touched.")
def send(week: str | None, rehearse: bool, to: tuple[str, ...]) -> None:
    """Send the due edition (or --week) to every active subscriber who has not had it yet."""
    if rehearse and to:
        raise click.UsageError("--dry-run and --to do not go together: a test copy is a real message")
    obj = _obj()
    s = obj.settings
    key = week or (edition_key(obj.now, s.digest) if (to or rehearse) else due_edition(obj.now, s.digest, obj.store))
    if key is None:
        click.echo("no edition is due now (give --week to send one anyway)")
        return
    _parse_week(key)
    if rehearse:
        report = dry_run(obj.store, s.digest, key, obj.now, feeds_public_url=s.feeds_public_url,
                         templates_dir=s.templates_dir)
        skipped = " (the edition is empty: it would be skipped)" if report.skipped else ""
        click.echo(f"{key}: dry run, {report.built} message(s) built, none sent{skipped}")
        return
    if to:
        report = send_test(obj.store, s.digest, obj.transport(), key, obj.now, to,
                           feeds_public_url=s.feeds_public_url, templates_dir=s.templates_dir)
        click.echo(f"{key}: test copy, {report.sent} sent to {', '.join(to)}")
        return
    report = send_edition(obj.store, s.digest, obj.transport(), key, obj.now, feeds_public_url=s.feeds_public_url,
                          templates_dir=s.templates_dir, return_paths=return_paths(obj.app))
    if not report.not_claimed:
        refresh_web_view(obj, key)  # the archive shows the edition that was sent
    _show_send(key, report)


def _show_send(key: str, report: SendReport) -> None:
    if report.not_claimed:
        raise FeedpipeError(f"{key}: another process is sending this edition",
                            "wait for it to finish; a crashed sender's lease expires after [digest] lease_minutes")
    if report.skipped:
        click.echo(f"{key}: no articles in the window; skipped (skip_if_empty)")
        return
    click.echo(f"{key}: {report.sent} sent, {report.failed} failed, {report.uncertain} uncertain, "
               f"{report.already} done before, {report.retried} retries")
    for line in report.errors:
        click.echo(f"  {line}", err=True)
    if report.uncertain:
        click.echo("  check the uncertain ones with `feedpipe digest uncertain`", err=True)


@digest.command()
@click.argument("url")
@click.option("--pitch", help="One line saying why to read it.")
@week_option
def pick(url: str, pitch: str | None, week: str | None) -> None:
    """Hand-pick an article (by URL) for the edition; picks come first."""
    obj = _obj()
    key = _open_for_picks(obj, _week(obj, week))
    article = _article(obj, url)
    p = picking.pick(obj.store, key, article.id, pitch=pitch, actor=_actor(), now=obj.now)
    refresh_web_view(obj, key)
    click.echo(f"{key}: picked #{p.position + 1} {article.title}")


@digest.command()
@click.argument("url")
@week_option
def unpick(url: str, week: str | None) -> None:
    """Remove an article from the edition's picks."""
    obj = _obj()
    key = _open_for_picks(obj, _week(obj, week))
    article = _article(obj, url)
    if not picking.unpick(obj.store, key, article.id, actor=_actor(), now=obj.now):
        raise InputError(f"{url} is not picked for {key}", "see `feedpipe digest picks`")
    refresh_web_view(obj, key)
    click.echo(f"{key}: unpicked {article.title}")


@digest.command()
@click.argument("urls", nargs=-1, required=True)
@week_option
def order(urls: tuple[str, ...], week: str | None) -> None:
    """Put these picked articles first, in this order."""
    obj = _obj()
    key = _open_for_picks(obj, _week(obj, week))
    picking.order(obj.store, key, [_article(obj, u).id for u in urls], actor=_actor(), now=obj.now)
    refresh_web_view(obj, key)
    _list_picks(obj, key)


def _list_picks(obj: Context, key: str) -> None:
    for p in obj.store.editions.picks(key):
        article = obj.store.articles.get(p.article_id)
        title = article.title if article else "(article no longer stored)"
        click.echo(f"{p.position + 1}. {title}" + (f" | {p.pitch}" if p.pitch else ""))
        if article:
            click.echo(f"   {article.canonical_url}")


@digest.command()
@week_option
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Replace the picks with this file: one "URL | pitch" a line, in order; # starts a comment.')
def picks(week: str | None, file: Path | None) -> None:
    """List the edition's picks, or set them all from a file."""
    obj = _obj()
    key = _week(obj, week)
    if file is not None:
        _open_for_picks(obj, key)
        wanted: list[tuple[str, str | None]] = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            url, _, pitch = (part.strip() for part in line.partition("|"))
            try:
                wanted.append((_article(obj, url).id, pitch or None))
            except FeedpipeError as exc:
                raise InputError(f"{file}:{number}: {exc.message}", exc.hint) from exc
        picking.replace_all(obj.store, key, wanted, actor=_actor(), now=obj.now)
        refresh_web_view(obj, key)
    _list_picks(obj, key)


@digest.command()
@week_option
@click.option("--limit", type=click.IntRange(1, 520), default=12, show_default=True,
              help="How many sent editions the delivery table shows.")
def status(week: str | None, limit: int) -> None:
    """An edition's state: built, sending (and who holds it: a process, or the workers' batches), sent,
    with the counts of its send ledger. Then, per sent edition: sent, delivered as far as known, bounced
    hard/soft, complaints, unsubscribes, and the complaint rate against the 0.3% ceiling of large mailbox
    providers (a warning above 0.1%)."""
    obj = _obj()
    key = _week(obj, week)
    edition = obj.store.editions.get(key)
    counts = obj.store.ledger.counts(key)
    state = edition.status if edition else "not built yet"
    click.echo(f"edition {key}: {state}" + (f", sent {edition.sent_at:%Y-%m-%d %H:%M} UTC" if edition and
                                             edition.sent_at and edition.status == "sent" else ""))
    click.echo("ledger: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if edition is not None and edition.status == "sending":
        until = f" until {edition.lease_until:%H:%M:%S} UTC" if edition.lease_until else ""
        click.echo(f"send lease: {edition.holder or 'nobody'}{until}")
        if not obj.store.is_sqlite:
            for holder, rows in obj.store.work.ledger_claims(key).items():
                click.echo(f"  worker {holder} holds {rows} row(s)")
    click.echo("")
    show_status(obj, limit)


@digest.command()
@week_option
def uncertain(week: str | None) -> None:
    """List messages whose delivery is unknown (connection lost after the message was sent)."""
    obj = _obj()
    rows = obj.store.ledger.uncertain(week)
    if not rows:
        click.echo("no uncertain messages")
    for row in rows:
        click.echo(f"{row.edition}  {row.email}  {row.message_id or ''}  {row.last_error or ''}")


@digest.command()
@click.argument("email")
@click.option("--sent", "verdict", flag_value="sent", help="It did arrive.")
@click.option("--failed", "verdict", flag_value="failed", help="It did not arrive (it will not be resent).")
@week_option
def resolve(email: str, verdict: str | None, week: str | None) -> None:
    """Record what happened to an uncertain message: --sent or --failed."""
    obj = _obj()
    if verdict is None:
        raise click.UsageError("say --sent or --failed")
    rows = [r for r in obj.store.ledger.uncertain(week) if r.email.lower() == email.strip().lower()]
    if not rows:
        raise InputError(f"no uncertain message to {email}", "see `feedpipe digest uncertain`")
    if len(rows) > 1:
        raise InputError(f"{email} has uncertain messages in {len(rows)} editions", "give --week")
    obj.store.ledger.resolve(rows[0].edition, rows[0].email, verdict, now=obj.now)
    click.echo(f"{rows[0].edition}: {rows[0].email} resolved as {verdict}")


@digest.command()
def schedule() -> None:
    """Show when the next editions go out, in the outlet's time zone."""
    obj = _obj()
    d = obj.settings.digest
    key = edition_key(obj.now, d)
    for _ in range(3):
        when = send_time(key, d)
        edition = obj.store.editions.get(key)
        click.echo(f"{key}  {when:%a %Y-%m-%d %H:%M %Z}  {edition.status if edition else 'not built'}")
        key = edition_key(when + timedelta(days=7), d)


__all__ = ["digest"]
