"""`feedpipe tag`: show an article's countries, topics and section, with the evidence for each.

    feedpipe tag story.txt page.html feed.xml     # files, read exactly as `feedpipe ingest` reads them
    feedpipe tag https://news.example.org/a/1     # a URL: fetched, then read the same way
    feedpipe tag --jsonl - < batch.jsonl          # one JSON object per line in, one per line out
    feedpipe tag --explain story.txt              # also: which words and lexicon entries decided each topic

A file or URL goes through the ingestion path (`feedpipe.extract.read_document`: the same sniffing of
feed, HTML page, plain text or JSON Lines, the same extractors) and is tagged as ingestion tags it, with
the outlet country of the configured source it belongs to (else `[outlet] country`); the output names
the extractor that ran. `--source-country` overrides the country.

JSON Lines input (`--jsonl`): {"id": ..., "title": ..., "body": ...} plus optional "url", "categories" and
"source_country". Output, one line per good input line: {"id", "countries": [{"code", "name", "role",
"score"}], "topics": [{"code", "label", "score"}], "section"}; with `--explain` also "explain": [{"code",
"label", "score", "given", "source", "words": [[feature, log-odds]], "lexicon": [[entry, weight]]}] and
"notes" (how the language was found, and why a text has no topics). A bad
line is reported on stderr with its line number and skipped; the exit status is then 2 (bad input), after
every good line is written.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import NotRequired, TypedDict
from urllib.parse import urlparse

import click

from feedpipe.cli.context import EXIT_CONFIG, EXIT_OPERATIONAL, Context
from feedpipe.core.errors import FeedpipeError, FetchError
from feedpipe.core.model import Article, Source, Tags
from feedpipe.extract import read_document
from feedpipe.ingest.collect import configured_source
from feedpipe.parsing import tag_article_noted
from feedpipe.tagging import Tagger


class CountryJson(TypedDict):
    code: str
    name: str
    role: str
    score: float


class TopicJson(TypedDict):
    code: str
    label: str
    score: float


class ExplainJson(TypedDict):
    """Why one topic got its score (`--explain`): the model's strongest words, the lexicon entries hit."""

    code: str
    label: str
    score: float
    given: bool  # at or above the model's threshold, so the article carries it
    source: str  # "model" or "lexicon"
    words: list[tuple[str, float]]
    lexicon: list[tuple[str, float]]


class TagsJson(TypedDict):
    """One output line of `feedpipe tag --jsonl`."""

    id: object  # the input line's "id", echoed as given
    countries: list[CountryJson]
    topics: list[TopicJson]
    section: str | None
    explain: NotRequired[list[ExplainJson]]
    notes: NotRequired[list[str]]  # with --explain: how the language was found and what it meant


def tags_to_json(item_id: object, tags: Tags) -> TagsJson:
    return {
        "id": item_id,
        "countries": [
            {"code": c.code, "name": c.name, "role": c.role, "score": c.score} for c in tags.countries
        ],
        "topics": [{"code": t.code, "label": t.label, "score": t.score} for t in tags.topics],
        "section": tags.section,
    }


def _tag_record(tagger: Tagger, line: str, source_country: str | None = None, explain: bool = False) -> TagsJson:
    """Tag one JSON Lines record; raises ValueError with a message a user can act on."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError('expected a JSON object like {"id": ..., "title": ..., "body": ...}')
    if "id" not in obj:
        raise ValueError('missing "id"')
    title, body = obj.get("title", ""), obj.get("body", "")
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValueError('"title" and "body" must be strings')
    if not title and not body:
        raise ValueError('needs a "title" or a "body"')
    cats = obj.get("categories") or ()
    if isinstance(cats, str):
        cats = (cats,)
    tags = tagger.tag(
        title,
        body,
        url=obj.get("url") if isinstance(obj.get("url"), str) else None,
        categories=tuple(str(c) for c in cats),
        source_country=obj["source_country"]
        if isinstance(obj.get("source_country"), str)
        else source_country,
    )
    out = tags_to_json(obj["id"], tags)
    if explain:
        out["explain"] = explain_records(tagger, title, body)
        out["notes"] = list(tags.notes)
    return out


def explain_records(tagger: Tagger, title: str, body: str) -> list[ExplainJson]:
    """Why each topic, best first: its calibrated score, the model's strongest words, the lexicon entries
    that hit (at most 8). Topics with next to no score and no lexicon entry are left out."""
    model = tagger.model
    if model is None:
        return []
    return [
        {"code": t.code, "label": tagger.taxonomy.labels.get(t.code, t.code), "score": t.score,
         "given": t.score >= model.threshold, "source": t.source, "words": list(t.words),
         "lexicon": list(terms[:8])}
        for t, terms in tagger.explain_topics(title, body)
        if t.score >= 0.05 or terms
    ]


def explain_lines(tagger: Tagger, title: str, body: str) -> list[str]:
    """`explain_records` as the text output shows it."""
    model = tagger.model
    if model is None:
        return ["  explain: no topic model loaded (lexicon only)"]
    lines = []
    for r in explain_records(tagger, title, body):
        given = "given" if r["given"] else f"below {model.threshold:.2f}, not given"
        lines.append(f"  why {r['code']} {r['label']} ({r['score']:.2f}, {r['source']}, {given}):")
        if r["words"]:
            lines.append("    words: " + ", ".join(f"{w} {v:+.2f}" for w, v in r["words"]))
        if r["lexicon"]:
            lines.append("    lexicon: " + ", ".join(f"{w} ({v:g})" for w, v in r["lexicon"]))
    return lines


def _show(location: str, kind: str, article: Article, country: str | None, notes: tuple[str, ...]) -> None:
    click.echo(f"{location}: {article.title}")
    click.echo(f"  extractor: {kind}")
    click.echo(f"  outlet country: {country or '-'}")
    click.echo(f"  section: {article.section or '-'}")
    click.echo(f"  language: {article.language or '-'}")
    for note in notes:  # how the language was found, and what it meant for the tags
        click.echo(f"  note: {note}")
    if not article.countries:
        click.echo("  countries: none found")
    for c in article.countries:
        click.echo(f"  {c.code} {c.name} [{c.role}, {c.score:.2f}]: {'; '.join(c.evidence)}")
    for t in article.topics:
        click.echo(f"  topic {t.code} {t.label} ({t.score:.2f})")


def _read(obj: Context, location: str, source: Source) -> tuple[bytes, str, str | None]:
    """(body, location as ingestion knows it, content type) of a file or URL; FeedpipeError when unreadable."""
    if urlparse(location).scheme in ("http", "https"):
        fetched = obj.app.fetcher.get(location, obey_robots=source.kind == "page")
        return fetched.body, fetched.final_url, fetched.content_type
    path = Path(location)
    try:
        return path.read_bytes(), path.resolve().as_uri(), None
    except OSError as exc:
        raise FeedpipeError(f"{location}: cannot read: {exc.strerror}", "check the path") from None


def _tag_locations(
    obj: Context, tagger: Tagger, locations: tuple[str, ...], country: str | None, explain: bool = False
) -> int:
    """Tag each file or URL as ingestion would; the exit status (2 unreadable input, 4 a fetch failed)."""
    settings = obj.settings
    status = 0
    for location in locations:
        is_url = urlparse(location).scheme in ("http", "https")
        source = configured_source(settings.sources, location) or Source(
            name=location, kind="url" if is_url else "file", location=location)
        source = replace(source, country=country or source.country or settings.outlet.country)
        expected = source.kind if source.kind in ("feed", "page") else None
        try:
            body, where, content_type = _read(obj, location, source)
            found = read_document(body, where, source=source.name, content_type=content_type, expected=expected)
        except FeedpipeError as exc:
            click.echo(f"feedpipe tag: {exc}", err=True)
            status = max(status, EXIT_OPERATIONAL if isinstance(exc, FetchError) else EXIT_CONFIG)
            continue
        for note in found.notes:
            click.echo(f"warning: {note}", err=True)
        for err in found.errors:
            click.echo(f"{location}: skipped: {err}", err=True)
        for article in found.articles:
            tagged, notes = tag_article_noted(tagger, article, source)
            _show(location, found.kind, tagged, source.country, notes)
            if explain:
                for line in explain_lines(tagger, article.title, article.text or article.summary):
                    click.echo(line)
    return status


@click.command("tag")
@click.argument("paths", nargs=-1, required=True, metavar="FILE|URL...")
@click.option("--jsonl", is_flag=True, help="Read JSON Lines {id,title,body} from PATH ('-' for stdin).")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Outlet config folder; its tagging/ files override the packaged gazetteer and topics.",
)
@click.option(
    "--explain", is_flag=True, help="Show which words and lexicon entries decided each topic."
)
@click.option(
    "--source-country",
    default=None,
    help="The outlet's own country (ISO alpha-2), a weak prior for shared names; a JSON line's own wins.",
)
@click.pass_context
def tag(ctx: click.Context, paths: tuple[str, ...], jsonl: bool, config_dir: Path | None,
        source_country: str | None, explain: bool) -> None:
    """Tag files or URLs (read as `ingest` reads them) by country, topic and section and show the evidence."""
    obj = ctx.find_object(Context) or Context(None, None, quiet=True)
    tagger = Tagger.load(config_dir) if config_dir is not None else obj.app.tagger
    if not jsonl:
        status = _tag_locations(obj, tagger, paths, source_country.upper() if source_country else None, explain)
        if status:
            sys.exit(status)
        return
    default_country = source_country or obj.settings.outlet.country
    bad = 0
    for path in paths:
        with click.open_file(path, encoding="utf-8") as stream:  # "-" is stdin
            for n, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    out = _tag_record(tagger, line, default_country, explain)
                except ValueError as exc:
                    bad += 1
                    click.echo(f"{path}:{n}: {exc}", err=True)
                    continue
                click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} bad line(s) skipped", err=True)
        sys.exit(EXIT_CONFIG)
