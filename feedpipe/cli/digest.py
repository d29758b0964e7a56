"""`feedpipe digest ...` and `feedpipe subscribers ...`.

Each command reads `click.get_current_context().obj`: `.store` (an open Store), `.settings` (with
`.digest`, `.mail`, `.feeds_public_url`, `.public_dir`, `.templates_dir`), `.now` (aware datetime) and
optionally `.transport()` (else one is made from `[mail]`).
"""

from __future__ import annotations

import csv
import re
import webbrowser
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import click

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SUBSCRIBER_STATUSES, Subscriber
from feedpipe.digest.build import build_edition, prepare, write_atomically
from feedpipe.digest.editions import due_edition, edition_key, parse_key, send_time
from feedpipe.digest.send import send_edition
from feedpipe.mailer import OutboxTransport, make_transport

try:
    from feedpipe.extract.urls import canonical_url
except ImportError:  # pragma: no cover - the extraction side is missing
    def canonical_url(url: str) -> str:
        return url.strip().split("#", 1)[0].rstrip("/").replace("http://", "https://", 1)


def _obj():
    return click.get_current_context().obj


def _week(obj, week: str | None) -> str:
    if week:
        parse_key(week)
        return week
    return edition_key(obj.now, obj.settings.digest)


def _article(obj, url: str):
    article = obj.store.articles.by_url(canonical_url(url)) or obj.store.articles.by_url(url)
    if article is None:
        raise FeedpipeError(f"no stored article has the URL {url}", "ingest it first (`feedpipe ingest`), then pick it")
    return article


def _templates(obj) -> Path | None:
    return getattr(obj.settings, "templates_dir", None)


def _transport(obj):
    factory = getattr(obj, "transport", None)
    return factory() if callable(factory) else make_transport(obj.settings.mail)


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
    web_dir = out or getattr(s, "digest_dir", None) or Path(s.public_dir) / "digest"
    web = build_edition(obj.store, s.digest, s.feeds_public_url, key, obj.now, web_dir,
                        templates_dir=_templates(obj))
    eml_dir = (out / key) if out else (Path(s.mail.outbox) / key)
    prepared = prepare(obj.store, s.digest, key, obj.now, feeds_public_url=s.feeds_public_url,
                       templates_dir=_templates(obj))
    outbox = OutboxTransport(eml_dir)
    for subscriber in obj.store.subscribers.iter("active"):
        data, mid = prepared.message_bytes(subscriber, obj.now)
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
    prepared = prepare(obj.store, s.digest, key, obj.now, feeds_public_url=s.feeds_public_url,
                       templates_dir=_templates(obj))
    subscriber = None
    if address:
        subscriber = obj.store.subscribers.get(address)
        if subscriber is None:
            raise FeedpipeError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
    subscriber = subscriber or Subscriber(email="reader@example.org", status="active", token="preview")
    data, _ = prepared.message_bytes(subscriber, obj.now)
    msg = message_from_bytes(data, policy=policy.default)
    folder = out or Path(s.mail.outbox) / "preview"
    html_path = folder / f"{key}-preview.html"
    eml_path = folder / f"{key}-preview.eml"
    write_atomically(html_path, msg.get_body(("html",)).get_content().encode("utf-8"))
    write_atomically(eml_path, data)
    click.echo(f"subject: {msg['Subject']}")
    click.echo(f"html: {html_path}")
    click.echo(f"eml: {eml_path}")
    if open_it:
        webbrowser.open(html_path.resolve().as_uri())


@digest.command()
@week_option
@click.option("--dry-run", is_flag=True, help="Build every message, send none.")
@click.option("--to", "to", multiple=True, metavar="ADDRESS",
              help="Send a test copy to this address only (repeatable); the ledger is not touched.")
def send(week: str | None, dry_run: bool, to: tuple[str, ...]) -> None:
    """Send the due edition (or --week) to every active subscriber who has not had it yet."""
    obj = _obj()
    s = obj.settings
    key = week or (edition_key(obj.now, s.digest) if (to or dry_run) else due_edition(obj.now, s.digest, obj.store.editions))
    if key is None:
        click.echo("no edition is due now (give --week to send one anyway)")
        return
    parse_key(key)
    report = send_edition(obj.store, s.digest, _transport(obj), key, obj.now, dry_run=dry_run, only=to or None,
                          feeds_public_url=s.feeds_public_url, templates_dir=_templates(obj))
    if report.not_claimed:
        raise FeedpipeError(f"{key}: another process is sending this edition",
                            "wait for it to finish; a crashed sender's lease expires after [digest] lease_minutes")
    if report.skipped:
        click.echo(f"{key}: no articles in the window; skipped (skip_if_empty)")
        return
    if dry_run:
        click.echo(f"{key}: dry run, {report.built} message(s) built, none sent")
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
    key = _week(obj, week)
    article = _article(obj, url)
    p = obj.store.editions.pick(key, article.id, pitch)
    click.echo(f"{key}: picked #{p.position + 1} {article.title}")


@digest.command()
@click.argument("url")
@week_option
def unpick(url: str, week: str | None) -> None:
    """Remove an article from the edition's picks."""
    obj = _obj()
    key = _week(obj, week)
    article = _article(obj, url)
    if not obj.store.editions.unpick(key, article.id):
        raise FeedpipeError(f"{url} is not picked for {key}", "see `feedpipe digest picks`")
    click.echo(f"{key}: unpicked {article.title}")


@digest.command()
@click.argument("urls", nargs=-1, required=True)
@week_option
def order(urls: tuple[str, ...], week: str | None) -> None:
    """Put these picked articles first, in this order."""
    obj = _obj()
    key = _week(obj, week)
    obj.store.editions.order(key, [_article(obj, u).id for u in urls])
    _list_picks(obj, key)


def _list_picks(obj, key: str) -> None:
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
        wanted = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            url, _, pitch = (part.strip() for part in line.partition("|"))
            try:
                wanted.append((_article(obj, url).id, pitch or None))
            except FeedpipeError as exc:
                raise FeedpipeError(f"{file}:{number}: {exc.message}", exc.hint) from exc
        ids = [a for a, _ in wanted]
        for p in obj.store.editions.picks(key):
            if p.article_id not in ids:
                obj.store.editions.unpick(key, p.article_id)
        for article_id, pitch in wanted:
            obj.store.editions.pick(key, article_id, pitch)
        if ids:
            obj.store.editions.order(key, ids)
    _list_picks(obj, key)


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
        raise FeedpipeError(f"no uncertain message to {email}", "see `feedpipe digest uncertain`")
    if len(rows) > 1:
        raise FeedpipeError(f"{email} has uncertain messages in {len(rows)} editions", "give --week")
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


# ---- subscribers ---------------------------------------------------------------------------

@click.group()
def subscribers() -> None:
    """The mailing list: add, import, list, remove."""


_SPLIT = re.compile(r"[\s,;]+")


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="How the greeting addresses them.")
@click.option("--country", "countries", multiple=True, metavar="CODE", help="ISO country code, repeatable (UA).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC",
              help="Topic code or slug, repeatable (medtop:11000000 or politics).")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), default="active", show_default=True)
def add(email: str, name: str | None, countries: tuple[str, ...], topics: tuple[str, ...], status: str) -> None:
    """Add one subscriber (an operator's add is active unless --status says otherwise)."""
    obj = _obj()
    existing = obj.store.subscribers.get(email)
    sub = obj.store.subscribers.add(email, name=name, status=status, countries=countries, topics=topics, now=obj.now)
    click.echo(f"{'already subscribed' if existing and existing.status != 'unsubscribed' else 'added'}: "
               f"{sub.email} ({sub.status})")


@subscribers.command("import")
@click.argument("csv_file", metavar="CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), default="active", show_default=True,
              help="Status for rows without a status column.")
def import_csv(csv_file: Path, status: str) -> None:
    """Import a CSV with a header: email (required), name, countries, topics, status.
    Countries and topics are separated by spaces, commas or semicolons. Bad rows are reported, not fatal."""
    obj = _obj()
    added = existing = 0
    problems = []
    with csv_file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
            raise FeedpipeError(f"{csv_file}: no 'email' column", "the first line must name the columns: email,name,...")
        for number, raw in enumerate(reader, 2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            row_status = row.get("status") or status
            try:
                if row_status not in SUBSCRIBER_STATUSES:
                    raise FeedpipeError(f"unknown status {row_status!r}", ", ".join(SUBSCRIBER_STATUSES))
                before = obj.store.subscribers.get(row.get("email", ""))
                obj.store.subscribers.add(
                    row.get("email", ""), name=row.get("name") or None, status=row_status,
                    countries=[c for c in _SPLIT.split(row.get("countries", "")) if c],
                    topics=[t for t in _SPLIT.split(row.get("topics", "")) if t], now=obj.now,
                )
            except FeedpipeError as exc:
                problems.append(f"{csv_file}:{number}: {exc.message}")
                continue
            if before is None:
                added += 1
            else:
                existing += 1
    click.echo(f"{added} added, {existing} already there, {len(problems)} skipped")
    for line in problems:
        click.echo(f"  {line}", err=True)


@subscribers.command("list")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), help="Only this status.")
def list_(status: str | None) -> None:
    """List subscribers: address, status, name, countries, topics."""
    obj = _obj()
    count = 0
    for sub in obj.store.subscribers.iter(status):
        count += 1
        prefs = " ".join(sub.countries + sub.topics) or "everything"
        click.echo(f"{sub.email}\t{sub.status}\t{sub.name or ''}\t{prefs}")
    click.echo(f"{count} subscriber(s)", err=True)


@subscribers.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber and their preferences."""
    obj = _obj()
    if not obj.store.subscribers.remove(email):
        raise FeedpipeError(f"{email} is not a subscriber", "see `feedpipe subscribers list`")
    click.echo(f"removed {email}")


__all__ = ["digest", "subscribers"]
