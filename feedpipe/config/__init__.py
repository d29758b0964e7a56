"""Read and validate the TOML configuration; every problem is reported at once, before anything runs.

Each problem names the file, the key, what is wrong and an example of what would be right.
Relative paths resolve against the config file's folder. Secrets come only from the environment.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry

from feedpipe.config.digest import parse_digest_settings, parse_mail_settings
from feedpipe.config.feeds import parse_feed_settings
from feedpipe.config.schedule import parse_schedule_settings
from feedpipe.core.errors import ConfigError
from feedpipe.core.model import Source
from feedpipe.core.settings import FetchSettings, OutletSettings, Settings

DEFAULT_CONFIG = Path("config") / "feedpipe.toml"
PACKAGED_CONFIG = Path(__file__).parent.parent / "defaults" / "feedpipe.toml"
SOURCE_KINDS = ("feed", "page", "file")
T = TypeVar("T")


def find_config(explicit: str | os.PathLike | None, cwd: Path) -> Path | None:
    """--config (or FEEDPIPE_CONFIG) if given, else ./config/feedpipe.toml, else None (built-in defaults)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(
                [f"{path}: no such config file"], "pass an existing file to --config or FEEDPIPE_CONFIG"
            )
        return path
    candidate = cwd / DEFAULT_CONFIG
    return candidate if candidate.is_file() else None


def load_settings(path: Path | None, *, cwd: Path, store_override: str | None = None) -> Settings:
    """Read, validate and resolve a config file (or the packaged default when `path` is None)."""
    if path is None:
        where, base_dir, data = str(PACKAGED_CONFIG), cwd, _read_toml(PACKAGED_CONFIG)
    else:
        path = path.resolve()
        where, base_dir, data = str(path), path.parent, _read_toml(path)
    problems: list[str] = []
    p = _Problems(where, problems)
    _unknown(p, "", data, ("outlet", "store", "fetch", "paths", "sources", "sources_file", "feeds", "digest",
                           "mail", "schedule"))

    outlet = _outlet(p, data.get("outlet", {}))
    store_url = store_override or _store_url(p, data.get("store", {}), base_dir)
    fetch, fetch_workers, parse_processes = _fetch(p, data.get("fetch", {}), outlet)
    paths = _table(p, "paths", data.get("paths", {}))
    _unknown(p, "paths", paths, ("public", "templates"))
    public_dir = _path(base_dir, paths.get("public", "public"))
    templates_dir = _path(base_dir, paths["templates"]) if "templates" in paths else None
    tagging_dir = base_dir if path is not None else None  # the outlet's overrides live in <config dir>/tagging/

    source_tables = list(_list(p, "sources", data.get("sources", [])))
    if "sources_file" in data:
        sources_path = _path(base_dir, data["sources_file"])
        if not sources_path.is_file():
            p.add("sources_file", f"file {sources_path} does not exist", 'sources_file = "sources.toml"')
        else:
            extra = _read_toml(sources_path)
            source_tables += _list(_Problems(str(sources_path), problems), "sources", extra.get("sources", []))
    sources = _sources(p, source_tables, base_dir)

    feeds_defaults = {"public_url": outlet.public_url, "title": outlet.name, "language": outlet.language}
    feeds = _section(p, parse_feed_settings(
        {**feeds_defaults, **_table(p, "feeds", data.get("feeds", {}))}, where=where))
    digest = _section(p, parse_digest_settings(_table(p, "digest", data.get("digest", {})), where=where,
                                               base_dir=base_dir, outlet=outlet))
    mail = _section(p, parse_mail_settings(_table(p, "mail", data.get("mail", {})), where=where, base_dir=base_dir))
    schedule = _section(p, parse_schedule_settings(_table(p, "schedule", data.get("schedule", {})), where=where))
    if problems:
        raise ConfigError(problems, f"fix the keys above in {where}; see README.md, 'Configuration'")
    return Settings(
        path=path, base_dir=base_dir, outlet=outlet, store_url=store_url, sources=tuple(sources), fetch=fetch,
        fetch_workers=fetch_workers, parse_processes=parse_processes,
        public_dir=public_dir, templates_dir=templates_dir, tagging_dir=tagging_dir, feeds=feeds,
        digest=digest, mail=mail, schedule=schedule,
    )


class _Problems:
    def __init__(self, where: str, sink: list[str]) -> None:
        self.where = where
        self.sink = sink

    def add(self, key: str, what: str, example: str = "") -> None:
        if key.startswith("[["):
            location = key
        elif "." in key:
            table, _, name = key.partition(".")
            location = f"[{table}] {name}"
        else:
            location = key
        msg = f"{self.where} {location}: {what}" if key else f"{self.where}: {what}"
        self.sink.append(msg + (f" - e.g. {example}" if example else ""))


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"], "check quoting and brackets near that line") from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"], "check the path and permissions") from exc


def _path(base_dir: Path, value: str) -> Path:
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (base_dir / path).resolve()


def _table(p: _Problems, key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        p.add(key, f"must be a table, got {type(value).__name__}", f"[{key}]")
        return {}
    return value


def _list(p: _Problems, key: str, value: Any) -> list:
    if not isinstance(value, list):
        p.add(key, "must be an array of tables", f'[[{key}]] name = "world" ...')
        return []
    return value


def _unknown(p: _Problems, key: str, table: dict, known: tuple[str, ...]) -> None:
    for name in table:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            p.add(f"{key}.{name}" if key else name, f"unknown key '{name}'; {hint}")


def _str(p: _Problems, table: dict, section: str, key: str, default: str, example: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        p.add(f"{section}.{key}", f"must be a non-empty string, got {value!r}", example)
        return default
    return value


def _num(p: _Problems, table: dict, section: str, key: str, default: float, *, integer: bool = False):
    value = table.get(key, default)
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        p.add(f"{section}.{key}", f"must be {kind}, got {value!r}", f"{key} = {default}")
        return default
    return value


def _url(p: _Problems, key: str, value: str, example: str) -> bool:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        p.add(key, f"{value!r} is not an http(s) URL", example)
        return False
    return True


def _country(p: _Problems, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or pycountry.countries.get(alpha_2=value.upper()) is None:
        p.add(key, f"{value!r} is not an ISO 3166-1 alpha-2 country code", 'country = "GB"')
        return None
    return value.upper()


def _outlet(p: _Problems, table: Any) -> OutletSettings:
    table = _table(p, "outlet", table)
    _unknown(p, "outlet", table, ("name", "public_url", "language", "timezone", "country", "contact_url"))
    d = OutletSettings()
    public_url = _str(p, table, "outlet", "public_url", d.public_url, 'public_url = "https://news.example.org"')
    _url(p, "outlet.public_url", public_url, 'public_url = "https://news.example.org"')
    contact = _str(p, table, "outlet", "contact_url", d.contact_url, 'contact_url = "https://example.org/about"')
    _url(p, "outlet.contact_url", contact, 'contact_url = "https://example.org/about"')
    tz = _str(p, table, "outlet", "timezone", d.timezone, 'timezone = "Europe/London"')
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        p.add("outlet.timezone", f"{tz!r} is not an IANA time zone", 'timezone = "Europe/Moscow"')
        tz = d.timezone
    return OutletSettings(
        name=_str(p, table, "outlet", "name", d.name, 'name = "The Example Times"'),
        public_url=public_url.rstrip("/"),
        language=_str(p, table, "outlet", "language", d.language, 'language = "en"'),
        timezone=tz,
        country=_country(p, "outlet.country", table.get("country")),
        contact_url=contact,
    )


def _store_url(p: _Problems, table: Any, base_dir: Path) -> str:
    table = _table(p, "store", table)
    _unknown(p, "store", table, ("url", "path"))
    if "url" in table:
        return _str(p, table, "store", "url", "", 'url = "postgresql+psycopg://feedpipe@localhost/feedpipe"')
    return f"sqlite:///{_path(base_dir, table.get('path', 'var/feedpipe.db'))}"


def _fetch(p: _Problems, table: Any, outlet: OutletSettings) -> tuple[FetchSettings, int, int | str]:
    from feedpipe import __version__

    table = _table(p, "fetch", table)
    known = ("user_agent", "connect_timeout", "read_timeout", "deadline", "max_bytes", "max_redirects", "workers",
             "processes", "allow_private_addresses")
    _unknown(p, "fetch", table, known)
    agent = f"feedpipe/{__version__} (+{outlet.contact_url})"
    allow_private = table.get("allow_private_addresses", False)
    if not isinstance(allow_private, bool):
        p.add("fetch.allow_private_addresses", f"must be true or false, got {allow_private!r}",
              "allow_private_addresses = true")
        allow_private = False
    settings = FetchSettings(
        user_agent=_str(p, table, "fetch", "user_agent", agent, f'user_agent = "{agent}"'),
        connect_timeout=_num(p, table, "fetch", "connect_timeout", 10.0),
        read_timeout=_num(p, table, "fetch", "read_timeout", 20.0),
        deadline=_num(p, table, "fetch", "deadline", 60.0),
        max_bytes=_num(p, table, "fetch", "max_bytes", 10_000_000, integer=True),
        max_redirects=_num(p, table, "fetch", "max_redirects", 5, integer=True),
        allow_private_addresses=allow_private,
    )
    processes = table.get("processes", "auto")
    if processes != "auto" and (isinstance(processes, bool) or not isinstance(processes, int) or processes < 0):
        p.add("fetch.processes", f'must be "auto" or a whole number >= 0, got {processes!r}', "processes = 2")
        processes = "auto"
    return settings, _num(p, table, "fetch", "workers", 4, integer=True), processes


def _sources(p: _Problems, tables: list, base_dir: Path) -> list[Source]:
    out: list[Source] = []
    seen: set[str] = set()
    known = ("name", "type", "url", "path", "full_text", "country", "section", "interval_minutes")
    for i, table in enumerate(tables):
        key = f"[[sources]] #{i + 1}"
        if not isinstance(table, dict):
            p.add(key, "must be a table", '[[sources]] name = "world" type = "feed" url = "https://..."')
            continue
        name = table.get("name")
        if isinstance(name, str) and name.strip():
            key = f"[[sources]] name={name!r}"
        else:
            p.add(f"{key} name", "missing or empty; every source needs a unique name", 'name = "world-news"')
            name = f"source-{i + 1}"
        if name in seen:
            p.add(f"{key} name", "is used by another source; names must be unique", f'name = "{name}-2"')
        seen.add(name)
        for extra in table:
            if extra not in known:
                close = difflib.get_close_matches(extra, known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
                p.add(f"{key} {extra}", f"unknown key; {hint}")
        kind = table.get("type")
        if kind not in SOURCE_KINDS:
            p.add(f"{key} type", f"{kind!r} is not a source type; use one of {', '.join(SOURCE_KINDS)}",
                  'type = "feed"')
            continue
        if kind == "file":
            raw = table.get("path")
            if not isinstance(raw, str) or not raw:
                p.add(f"{key} path", "a file source needs a path (a file or a folder)", 'path = "../samples"')
                continue
            location = str(_path(base_dir, raw))
            if not Path(location).exists():
                p.add(f"{key} path", f"{location} does not exist", 'path = "../samples/articles"')
        else:
            location = table.get("url")
            if not isinstance(location, str) or not _url(p, f"{key} url", location,
                                                          'url = "https://example.org/feed.xml"'):
                if not isinstance(location, str):
                    p.add(f"{key} url", f"a {kind} source needs an http(s) url",
                          'url = "https://example.org/feed.xml"')
                continue
        full_text = table.get("full_text", False)
        if not isinstance(full_text, bool):
            p.add(f"{key} full_text", f"must be true or false, got {full_text!r}", "full_text = true")
            full_text = False
        interval = table.get("interval_minutes")
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0):
            p.add(f"{key} interval_minutes", f"must be a positive integer, got {interval!r}", "interval_minutes = 30")
            interval = None
        section = table.get("section")
        if section is not None and not isinstance(section, str):
            p.add(f"{key} section", f"must be a string, got {section!r}", 'section = "news"')
            section = None
        out.append(Source(
            name=name, kind=kind, location=location, full_text=full_text,
            country=_country(p, f"{key} country", table.get("country")), section=section,
            interval_minutes=interval,
        ))
    return out


def _section(p: _Problems, parsed: tuple[T, list[str]]) -> T:
    """A section's settings; its problems join the others."""
    settings, problems = parsed
    p.sink.extend(problems)
    return settings
