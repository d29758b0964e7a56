"""`feedpipe tag`: show an article's countries, topics and section, with the evidence for each.

    feedpipe tag story.txt other.txt          # plain-text files: the headline is guessed (see plaintext.py)
    feedpipe tag --jsonl - < batch.jsonl      # one JSON object per line in, one per line out
    feedpipe tag --explain story.txt          # also: which words and lexicon entries decided each topic

JSON Lines input: {"id": ..., "title": ..., "body": ...} plus optional "url", "categories" and
"source_country". Output, one line per good input line: {"id", "countries": [{"code", "name", "role",
"score"}], "topics": [{"code", "label", "score"}], "section"}. A bad line is reported on stderr with its
line number and skipped; the exit status is then 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TypedDict

import click

from feedpipe.core.model import Tags
from feedpipe.tagging import Tagger
from feedpipe.tagging.plaintext import split_title


class CountryJson(TypedDict):
    code: str
    name: str
    role: str
    score: float


class TopicJson(TypedDict):
    code: str
    label: str
    score: float


class TagsJson(TypedDict):
    """One output line of `feedpipe tag --jsonl`."""

    id: object  # the input line's "id", echoed as given
    countries: list[CountryJson]
    topics: list[TopicJson]
    section: str | None


def tags_to_json(item_id: object, tags: Tags) -> TagsJson:
    return {
        "id": item_id,
        "countries": [
            {"code": c.code, "name": c.name, "role": c.role, "score": c.score} for c in tags.countries
        ],
        "topics": [{"code": t.code, "label": t.label, "score": t.score} for t in tags.topics],
        "section": tags.section,
    }


def _tag_record(tagger: Tagger, line: str, source_country: str | None = None) -> TagsJson:
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
    return tags_to_json(obj["id"], tags)


def explain_lines(tagger: Tagger, title: str, body: str) -> list[str]:
    """Why each topic: its calibrated score, the model's strongest words, the lexicon entries that hit."""
    model = tagger.model
    if model is None:
        return ["  explain: no topic model loaded (lexicon only)"]
    lines = []
    for t, terms in tagger.explain_topics(title, body):
        if t.score < 0.05 and not terms:
            continue
        given = "given" if t.score >= model.threshold else f"below {model.threshold:.2f}, not given"
        label = tagger.taxonomy.labels.get(t.code, t.code)
        lines.append(f"  why {t.code} {label} ({t.score:.2f}, {t.source}, {given}):")
        if t.words:
            lines.append("    words: " + ", ".join(f"{w} {v:+.2f}" for w, v in t.words))
        if terms:
            lines.append("    lexicon: " + ", ".join(f"{w} ({v:g})" for w, v in terms[:8]))
    return lines


def _show(path: str, tags: Tags, title: str) -> None:
    click.echo(f"{path}: {title}")
    click.echo(f"  section: {tags.section or '-'}")
    if not tags.countries:
        click.echo("  countries: none found")
    for c in tags.countries:
        click.echo(f"  {c.code} {c.name} [{c.role}, {c.score:.2f}]: {'; '.join(c.evidence)}")
    for t in tags.topics:
        click.echo(f"  topic {t.code} {t.label} ({t.score:.2f})")


@click.command("tag")
@click.argument("paths", nargs=-1, required=True)
@click.option("--jsonl", is_flag=True, help="Read JSON Lines {id,title,body} from PATH ('-' for stdin).")
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Outlet config folder; its tagging/ files override the packaged gazetteer and topics.",
)
@click.option(
    "--explain", is_flag=True, help="Show which words and lexicon entries decided each topic (files only)."
)
@click.option(
    "--source-country",
    default=None,
    help="The outlet's own country (ISO alpha-2), a weak prior for shared names; a JSON line's own wins.",
)
def tag(
    paths: tuple[str, ...], jsonl: bool, config_dir: Path | None, source_country: str | None, explain: bool
) -> None:
    """Tag articles by country, topic and section and show the evidence."""
    tagger = Tagger.load(config_dir)
    if jsonl:
        bad = 0
        for path in paths:
            with click.open_file(path, encoding="utf-8") as stream:  # "-" is stdin
                for n, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    try:
                        out = _tag_record(tagger, line, source_country)
                    except ValueError as exc:
                        bad += 1
                        click.echo(f"{path}:{n}: {exc}", err=True)
                        continue
                    click.echo(json.dumps(out, ensure_ascii=False))
        if bad:
            sys.exit(1)
        return
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
        title, body = split_title(text)
        _show(path, tagger.tag(title, body, source_country=source_country), title)
        if explain:
            for line in explain_lines(tagger, title, body):
                click.echo(line)
