"""`feedpipe subscribers ...`: the mailing list (add, import a CSV, list, remove).

Each command reads the click context's `obj` (a `feedpipe.cli.context.Context`): `.store` and `.now`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import click

from feedpipe.cli.context import Context, InputError
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SUBSCRIBER_STATUSES, Subscriber
from feedpipe.core.text import one_line
from feedpipe.store.subscribers import NewSubscriber, normalize_email
from feedpipe.store.suppression import Suppressed
from feedpipe.tagging.names import UnknownChoice, country_codes, country_name


def _obj() -> Context:
    obj: Context = click.get_current_context().obj
    return obj


@click.group()
def subscribers() -> None:
    """The mailing list: add, import, list, remove."""


_SPLIT = re.compile(r"[\s,;]+")
IMPORT_BATCH = 5000  # rows stored per transaction: memory stays flat however long the file


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
    if existing is None:
        found = obj.store.suppressions.check(email)
        if found is not None:
            raise Suppressed(email, found.reason, found.since)
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
    suppressed: dict[str, int] = {}
    with csv_file.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        try:
            header = [_clean(h).lower() for h in next(reader, [])]
        except (csv.Error, UnicodeError) as exc:
            raise InputError(f"{csv_file}:1: cannot read the header: {exc}", "save the file as UTF-8 CSV") from exc
        if "email" not in header:
            raise InputError(f"{csv_file}: no 'email' column", "the first line must name the columns: email,name,...")
        rows = _RowReader(obj, header, status)
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
            if "".join(fields).strip():
                parsed = rows.parse(fields)
                if isinstance(parsed, str):
                    problems.append((line, parsed))
                else:
                    batch.append((line, parsed))
            if len(batch) >= IMPORT_BATCH:
                _import_batch(obj, batch, counts, problems, suppressed)
            line = reader.line_num + 1
        _import_batch(obj, batch, counts, problems, suppressed)
    problems = [(n, f"{csv_file}:{n}: {message}") for n, message in sorted(problems)]
    click.echo(f"{counts['added']} added, {counts['existing']} already there, {len(problems)} skipped")
    if suppressed:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(suppressed.items()))
        click.echo(f"{sum(suppressed.values())} suppressed, not added ({reasons}): only they can sign up again")
    for _, problem in problems:
        click.echo(f"  {problem}", err=True)


def _preferences(obj: Context, countries: Iterable[str], topics: Iterable[str]) -> tuple[list[str], list[str]]:
    """Countries and topics as codes; UnknownChoice (with did-you-mean) for the first unknown one."""
    return country_codes(countries), obj.topic_names.codes(topics)


def _clean(text: str) -> str:
    if not text.isascii() and any("\udc80" <= c <= "\udcff" for c in text):
        raise FeedpipeError("not UTF-8 text", "save the file as UTF-8")
    return text.strip()


class _RowReader:
    """One CSV row -> a NewSubscriber, or the problem to report for its line. The countries and topics
    cells of a list repeat (a few choices over many rows): each distinct cell is looked up once (a
    bounded cache, so memory stays flat however long the file)."""

    _CACHE = 4096

    def __init__(self, obj: Context, header: list[str], status: str) -> None:
        self.obj, self.status = obj, status
        self.width = len(header)
        at = {name: i for i, name in enumerate(header)}  # a column named twice: the last one counts
        self.email, self.name, self.country, self.topic, self.state = (
            at.get(name, self.width) for name in ("email", "name", "countries", "topics", "status"))
        self.countries: dict[str, tuple[str, ...] | str] = {}
        self.topics: dict[str, tuple[str, ...] | str] = {}

    def parse(self, fields: list[str]) -> NewSubscriber | str:
        try:
            return self._parse(fields)
        except FeedpipeError as exc:
            return exc.message

    def _parse(self, fields: list[str]) -> NewSubscriber | str:
        width = self.width
        if len(fields) > width and any(f.strip() for f in fields[width:]):
            raise FeedpipeError(f"{len(fields)} fields where the header names {width} "
                                "(an unquoted comma in a name?)", "quote fields that hold commas")
        cells = fields[:width]
        if not "".join(cells).isascii():
            cells = [_clean(c) for c in cells]  # raises for a cell that is not UTF-8
        cells += [""] * (width + 1 - len(cells))  # a missing column (or cell) reads as empty
        row_status = cells[self.state].strip() or self.status
        if row_status not in SUBSCRIBER_STATUSES:
            raise FeedpipeError(f"unknown status {row_status!r}", ", ".join(SUBSCRIBER_STATUSES))
        countries = self._codes(self.countries, cells[self.country].strip(), country_codes)
        if isinstance(countries, str):
            return countries
        topics = self._codes(self.topics, cells[self.topic].strip(), self.obj.topic_names.codes)
        if isinstance(topics, str):
            return topics
        return NewSubscriber(email=cells[self.email].strip(), name=one_line(cells[self.name].strip()) or None,
                             status=row_status, countries=countries, topics=topics)

    def _codes(self, cache: dict[str, tuple[str, ...] | str], cell: str,
               lookup: Callable[[Iterable[str]], list[str]]) -> tuple[str, ...] | str:
        """The codes of a countries or topics cell, or the problem (with did-you-mean) of its first
        unknown choice."""
        found = cache.get(cell)
        if found is None:
            try:
                found = tuple(lookup(_SPLIT.split(cell)))
            except UnknownChoice as exc:
                found = f"{exc.message} - {exc.hint}"
            if len(cache) >= self._CACHE:
                cache.clear()
            cache[cell] = found
        return found


def _import_batch(obj: Context, batch: list[tuple[int, NewSubscriber]], counts: dict[str, int],
                  problems: list[tuple[int, str]], suppressed: dict[str, int]) -> None:
    """Store a batch of parsed rows in one transaction (store.subscribers.add_many), then empty it;
    a suppressed address is counted by its reason, never added."""
    outcomes = obj.store.subscribers.add_many([item for _, item in batch], now=obj.now) if batch else []
    for (line, _), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Suppressed):
            suppressed[outcome.reason] = suppressed.get(outcome.reason, 0) + 1
        elif isinstance(outcome, FeedpipeError):
            problems.append((line, outcome.message))
        else:
            counts["added" if outcome else "existing"] += 1
    batch.clear()


@subscribers.command("list")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), help="Only this status.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON Lines: email, name, status, countries, topics (codes), created_at, confirmed_at, updated_at.")
def list_(status: str | None, as_json: bool) -> None:
    """List subscribers by address: address, status, name, countries, topics. Read and printed a batch
    at a time, so memory stays flat however long the list; the count goes to stderr."""
    obj = _obj()
    count = 0
    for page in obj.store.subscribers.pages(status):
        count += len(page)
        if as_json:
            lines = [json.dumps(_subscriber_json(sub), ensure_ascii=False) for sub in page]
        else:
            lines = [f"{sub.email}\t{sub.status}\t{sub.name or ''}\t{_shown_preferences(obj, sub) or 'everything'}"
                     for sub in page]
        click.echo("\n".join(lines))
    click.echo(f"{count} subscriber(s)", err=True)


def _subscriber_json(sub: Subscriber) -> dict[str, object]:
    """What `list --json` prints of a subscriber (never the secret token)."""
    return {"email": sub.email, "name": sub.name, "status": sub.status, "countries": list(sub.countries),
            "topics": list(sub.topics), "created_at": _iso(sub.created_at), "confirmed_at": _iso(sub.confirmed_at),
            "updated_at": _iso(sub.updated_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _shown_preferences(obj: Context, sub: Subscriber) -> str:
    return "; ".join([country_name(c) for c in sub.countries] + [obj.topic_names.label(t) for t in sub.topics])


@subscribers.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Delete a subscriber and their preferences; the address stays suppressed (a keyed hash), so no
    import or add brings it back: only the person, by signing up again."""
    obj = _obj()
    if not obj.store.suppressions.remove(email, now=obj.now):
        raise InputError(f"{email} is not a subscriber", "see `feedpipe subscribers list`")
    click.echo(f"removed {email} (suppressed: not added again by add or import)")


@subscribers.command("export")
@click.argument("email")
def export(email: str) -> None:
    """Print, as JSON, everything stored about one person (for an access request)."""
    obj = _obj()
    click.echo(json.dumps(obj.store.suppressions.export(email), indent=2, ensure_ascii=False))


@subscribers.command("erase")
@click.argument("email")
def erase(email: str) -> None:
    """Erase everything stored about one person (subscription, send history, bounces' link to them)
    except a keyed hash that keeps the address suppressed."""
    obj = _obj()
    found = obj.store.suppressions.erase(email, now=obj.now)
    click.echo(f"erased {email}" if found else f"nothing was stored about {email}; it is suppressed from now on")


__all__ = ["subscribers"]
