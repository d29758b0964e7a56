"""`feedpipe subscribers ...`: the mailing list (add, import a CSV, list, remove).

Each command reads the click context's `obj` (a `feedpipe.cli.context.Context`): `.store` and `.now`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

import click

from feedpipe.cli.context import Context, InputError
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SUBSCRIBER_STATUSES, Subscriber
from feedpipe.core.text import one_line
from feedpipe.store.subscribers import NewSubscriber, normalize_email
from feedpipe.tagging.names import UnknownChoice, country_codes, country_name


def _obj() -> Context:
    obj: Context = click.get_current_context().obj
    return obj


@click.group()
def subscribers() -> None:
    """The mailing list: add, import, list, remove."""


_SPLIT = re.compile(r"[\s,;]+")
IMPORT_BATCH = 1000  # rows stored per transaction: memory stays flat however long the file


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="How the greeting addresses them.")
@click.option("--country", "countries", multiple=True, metavar="COUNTRY",
              help="ISO country code or name, repeatable (UA, Ukraine).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC",
              help="Topic code, slug or label, repeatable (medtop:11000000, politics, sub-sanctions).")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), default="active", show_default=True)
def add(email: str, name: str | None, countries: tuple[str, ...], topics: tuple[str, ...], status: str) -> None:
    """Add one subscriber (an operator's add is active unless --status says otherwise). A bad address,
    an unknown country or topic is refused (exit code 2) with the closest valid choices."""
    obj = _obj()
    try:
        normalize_email(email)
        country_codes_, topic_codes = _preferences(obj, countries, topics)
    except FeedpipeError as exc:
        raise InputError.of(exc) from None
    existing = obj.store.subscribers.get(email)
    sub = obj.store.subscribers.add(email, name=name, status=status, countries=country_codes_, topics=topic_codes,
                                    now=obj.now)
    click.echo(f"{'already subscribed' if existing and existing.status != 'unsubscribed' else 'added'}: "
               f"{sub.email} ({sub.status})")


@subscribers.command("import")
@click.argument("csv_file", metavar="CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), default="active", show_default=True,
              help="Status for rows without a status column.")
def import_csv(csv_file: Path, status: str) -> None:
    """Import a CSV with a header: email (required), name, countries, topics, status; other columns are
    ignored. Countries (codes such as UA) and topics (codes, slugs or labels without commas: politics,
    sub-sanctions) are separated by spaces, commas or semicolons. A bad row (not an address, unknown
    status, unknown country or topic, more fields than the header, not UTF-8) is reported with its line
    number and the closest valid choices, and not imported at all (a reader who asked for one country
    would otherwise get everything); the good rows are imported."""
    obj = _obj()
    counts = {"added": 0, "existing": 0}
    problems: list[tuple[int, str]] = []  # (line, message)
    batch: list[tuple[int, NewSubscriber]] = []
    with csv_file.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        try:
            header = [_clean(h).lower() for h in next(reader, [])]
        except (csv.Error, UnicodeError) as exc:
            raise InputError(f"{csv_file}:1: cannot read the header: {exc}", "save the file as UTF-8 CSV") from exc
        if "email" not in header:
            raise InputError(f"{csv_file}: no 'email' column", "the first line must name the columns: email,name,...")
        line = reader.line_num + 1
        while True:
            try:
                fields = next(reader, None)
            except csv.Error as exc:
                problems.append((line, f"not a CSV row: {exc}"))
                line = reader.line_num + 1
                continue
            if fields is None:
                break
            try:
                if any(f.strip() for f in fields):
                    batch.append((line, _import_row(obj, header, fields, status)))
            except FeedpipeError as exc:
                problems.append((line, exc.message + (f" - {exc.hint}" if isinstance(exc, UnknownChoice) else "")))
            if len(batch) >= IMPORT_BATCH:
                _import_batch(obj, batch, counts, problems)
            line = reader.line_num + 1
        _import_batch(obj, batch, counts, problems)
    problems = [(n, f"{csv_file}:{n}: {message}") for n, message in sorted(problems)]
    click.echo(f"{counts['added']} added, {counts['existing']} already there, {len(problems)} skipped")
    for _, problem in problems:
        click.echo(f"  {problem}", err=True)


def _preferences(obj: Context, countries: Iterable[str], topics: Iterable[str]) -> tuple[list[str], list[str]]:
    """Countries and topics as codes; UnknownChoice (with did-you-mean) for the first unknown one."""
    return country_codes(countries), obj.topic_names.codes(topics)


def _clean(text: str) -> str:
    if not text.isascii() and any("\udc80" <= c <= "\udcff" for c in text):
        raise FeedpipeError("not UTF-8 text", "save the file as UTF-8")
    return text.strip()


def _import_row(obj: Context, header: list[str], fields: list[str], status: str) -> NewSubscriber:
    extra = [f for f in fields[len(header):] if f.strip()]
    if extra:
        raise FeedpipeError(f"{len(fields)} fields where the header names {len(header)} "
                            "(an unquoted comma in a name?)", "quote fields that hold commas")
    row = {name: _clean(value) for name, value in zip(header, fields, strict=False)}
    row_status = row.get("status") or status
    if row_status not in SUBSCRIBER_STATUSES:
        raise FeedpipeError(f"unknown status {row_status!r}", ", ".join(SUBSCRIBER_STATUSES))
    countries, topics = _preferences(obj, _SPLIT.split(row.get("countries", "")),
                                     _SPLIT.split(row.get("topics", "")))
    return NewSubscriber(
        email=row.get("email", ""), name=one_line(row.get("name")) or None, status=row_status,
        countries=tuple(countries), topics=tuple(topics),
    )


def _import_batch(obj: Context, batch: list[tuple[int, NewSubscriber]], counts: dict[str, int],
                  problems: list[tuple[int, str]]) -> None:
    """Store a batch of parsed rows in one transaction (store.subscribers.add_many), then empty it."""
    outcomes = obj.store.subscribers.add_many([item for _, item in batch], now=obj.now) if batch else []
    for (line, _), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, FeedpipeError):
            problems.append((line, outcome.message))
        else:
            counts["added" if outcome else "existing"] += 1
    batch.clear()


@subscribers.command("list")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), help="Only this status.")
def list_(status: str | None) -> None:
    """List subscribers: address, status, name, countries, topics."""
    obj = _obj()
    count = 0
    for sub in obj.store.subscribers.iter(status):
        count += 1
        prefs = _shown_preferences(obj, sub) or "everything"
        click.echo(f"{sub.email}\t{sub.status}\t{sub.name or ''}\t{prefs}")
    click.echo(f"{count} subscriber(s)", err=True)


def _shown_preferences(obj: Context, sub: Subscriber) -> str:
    return "; ".join([country_name(c) for c in sub.countries] + [obj.topic_names.label(t) for t in sub.topics])


@subscribers.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber and their preferences."""
    obj = _obj()
    if not obj.store.subscribers.remove(email):
        raise InputError(f"{email} is not a subscriber", "see `feedpipe subscribers list`")
    click.echo(f"removed {email}")


__all__ = ["subscribers"]
