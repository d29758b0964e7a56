"""The `[[sources]]` tables (in the config or its `sources_file`): validated into `Source`s."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pycountry

from feedpipe.config.reader import Problems, known
from feedpipe.core.model import Source, SourceKind

SOURCE_KINDS: dict[str, SourceKind] = {"feed": "feed", "page": "page", "file": "file"}
SOURCE_KEYS = known("sources", ("name", "type", "url", "path", "full_text", "country", "section", "interval_minutes"))
_URL_EXAMPLE = 'url = "https://example.org/feed.xml"'


def resolve_path(base_dir: Path, value: object) -> Path:
    """`value` (a path, `~` expanded) relative to `base_dir` unless absolute."""
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (base_dir / path).resolve()


def is_http_url(p: Problems, table: str, key: str, value: str, example: str) -> bool:
    """Whether `value` is an absolute http(s) URL; a problem when it is not."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        p.add(table, key, f"{value!r} is not an http(s) URL", example)
        return False
    return True


def country_code(p: Problems, table: str, key: str, value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case, or None (and a problem when one was given but is wrong)."""
    if value is None:
        return None
    if not isinstance(value, str) or pycountry.countries.get(alpha_2=value.upper()) is None:
        p.add(table, key, f"{value!r} is not an ISO 3166-1 alpha-2 country code", 'country = "GB"')
        return None
    return value.upper()


def parse_sources(p: Problems, tables: list[object], base_dir: Path, *, seen: set[str] | None = None) -> list[Source]:
    """Every valid source; a bad one is reported (against the file `p` names) and left out. Names must be
    unique: pass the same `seen` for the config and its `sources_file`.

    A file source whose path does not exist (yet) is valid: that source fails at ingest, with the
    reason, and the other sources are ingested (`check-config` warns about it)."""
    out: list[Source] = []
    seen = set() if seen is None else seen
    for i, table in enumerate(tables):
        label = f"[[sources]] #{i + 1}"
        if not isinstance(table, dict):
            p.add(label, "", "must be a table", '[[sources]] name = "world" type = "feed" url = "https://..."')
            continue
        source = _source(p, label, table, i, seen, base_dir)
        if source is not None:
            out.append(source)
    return out


def _source(p: Problems, label: str, table: dict[str, object], i: int, seen: set[str],
            base_dir: Path) -> Source | None:
    raw_name = table.get("name")
    if isinstance(raw_name, str) and raw_name.strip():
        name = raw_name
        label = f"[[sources]] name={name!r}"
    else:
        p.add(label, "name", "missing or empty; every source needs a unique name", 'name = "world-news"')
        name = f"source-{i + 1}"
    if name in seen:
        p.add(label, "name", "is used by another source; names must be unique", f'name = "{name}-2"')
    seen.add(name)
    p.unknown_keys(label, table, SOURCE_KEYS)
    raw_kind = table.get("type")
    kind = SOURCE_KINDS.get(raw_kind) if isinstance(raw_kind, str) else None
    if kind is None:
        p.add(label, "type", f"{raw_kind!r} is not a source type; use one of {', '.join(SOURCE_KINDS)}", 'type = "feed"')
        return None
    if kind == "file":
        raw = table.get("path")
        if not isinstance(raw, str) or not raw:
            p.add(label, "path", "a file source needs a path (a file or a folder)", 'path = "../samples"')
            return None
        location = str(resolve_path(base_dir, raw))
    else:
        url = table.get("url")
        if not isinstance(url, str):
            p.add(label, "url", f"a {kind} source needs an http(s) url", _URL_EXAMPLE)
            return None
        if not is_http_url(p, label, "url", url, _URL_EXAMPLE):
            return None
        location = url
    full_text = table.get("full_text", False)
    if not isinstance(full_text, bool):
        p.add(label, "full_text", f"must be true or false, got {full_text!r}", "full_text = true")
        full_text = False
    interval = table.get("interval_minutes")
    if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0):
        p.add(label, "interval_minutes", f"must be a positive integer, got {interval!r}", "interval_minutes = 30")
        interval = None
    section = table.get("section")
    if section is not None and not isinstance(section, str):
        p.add(label, "section", f"must be a string, got {section!r}", 'section = "news"')
        section = None
    return Source(
        name=name, kind=kind, location=location, full_text=full_text,
        country=country_code(p, label, "country", table.get("country")), section=section,
        interval_minutes=interval,
    )
