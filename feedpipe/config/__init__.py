"""Read and validate the TOML configuration; every problem is reported at once, before anything runs.

Each problem is one line, `FILE [table] key: what is wrong - e.g. what would be right`
(`feedpipe.config.reader`). Relative paths resolve against the config file's folder. Secrets come
only from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedpipe import __version__
from feedpipe.config.digest import parse_digest_settings, parse_mail_settings
from feedpipe.config.feeds import parse_feed_settings
from feedpipe.config.reader import Problems, Section, Table, known
from feedpipe.config.schedule import parse_schedule_settings
from feedpipe.config.sources import country_code, is_http_url, parse_sources, resolve_path
from feedpipe.core.errors import ConfigError
from feedpipe.core.settings import FetchSettings, OutletSettings, Settings

DEFAULT_CONFIG = Path("config") / "feedpipe.toml"
PACKAGED_CONFIG = Path(__file__).parent.parent / "defaults" / "feedpipe.toml"
TOP_KEYS = known("", ("outlet", "store", "fetch", "paths", "sources", "sources_file", "feeds", "digest", "mail", "schedule"))
OUTLET_KEYS = known("outlet", ("name", "public_url", "language", "timezone", "country", "contact_url"))
FETCH_KEYS = known("fetch", ("user_agent", "connect_timeout", "read_timeout", "deadline", "max_bytes", "max_redirects", "workers",
              "processes", "allow_private_addresses"))
PATHS_KEYS = known("paths", ("public", "templates", "file_mode"))
DEFAULT_FILE_MODE = 0o644
_FILE_MODE = re.compile(r"0?[0-7]{3}")


def find_config(explicit: str | os.PathLike[str] | None, cwd: Path) -> Path | None:
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
    p = Problems(where)
    p.unknown_keys("", data, TOP_KEYS)

    outlet = _outlet(Section(p, "outlet", p.table("outlet", data.get("outlet", {}))))
    store_url = store_override or _store_url(Section(p, "store", p.table("store", data.get("store", {}))), base_dir)
    fetch, fetch_workers, parse_processes = _fetch(Section(p, "fetch", p.table("fetch", data.get("fetch", {}))),
                                                   outlet)
    paths = Section(p, "paths", p.table("paths", data.get("paths", {})))
    paths.unknown_keys(PATHS_KEYS)
    public_dir = resolve_path(base_dir, paths.text("public", "public", 'public = "public"'))
    templates = paths.optional_text("templates", 'templates = "templates"')
    templates_dir = resolve_path(base_dir, templates) if templates is not None else None
    file_mode = _file_mode(paths)
    tagging_dir = base_dir if path is not None else None  # the outlet's overrides live in <config dir>/tagging/

    seen: set[str] = set()
    elsewhere = Problems("")  # the problems found in the sources_file, which name that file
    sources = parse_sources(p, _list(p, "sources", data.get("sources", [])), base_dir, seen=seen)
    if "sources_file" in data:  # its problems name that file, not this one
        sources_path = resolve_path(base_dir, data["sources_file"])
        if not sources_path.is_file():
            p.add("", "sources_file", f"file {sources_path} does not exist", 'sources_file = "sources.toml"')
        else:
            elsewhere = in_file = Problems(str(sources_path))
            in_data = _read_toml(sources_path)
            in_file.unknown_keys("", in_data, ("sources",))
            sources += parse_sources(in_file, _list(in_file, "sources", in_data.get("sources", [])), base_dir,
                                     seen=seen)
            p.lines.extend(in_file.lines)

    feeds_defaults = {"public_url": outlet.public_url, "title": outlet.name, "language": outlet.language}
    feeds, problems = parse_feed_settings({**feeds_defaults, **p.table("feeds", data.get("feeds", {}))}, where=where)
    p.lines.extend(problems)
    digest, problems = parse_digest_settings(p.table("digest", data.get("digest", {})), where=where,
                                             base_dir=base_dir, outlet=outlet)
    p.lines.extend(problems)
    mail, problems = parse_mail_settings(p.table("mail", data.get("mail", {})), where=where, base_dir=base_dir)
    p.lines.extend(problems)
    schedule, problems = parse_schedule_settings(p.table("schedule", data.get("schedule", {})), where=where)
    p.lines.extend(problems)
    if p.lines:
        files = ([where] if len(p.lines) > len(elsewhere.lines) else []) + ([elsewhere.where] if elsewhere.lines else [])
        raise ConfigError(p.lines, f"fix the keys above in {' and '.join(files)}; see README.md, 'Configuration'")
    return Settings(
        path=path, base_dir=base_dir, outlet=outlet, store_url=store_url, sources=tuple(sources), fetch=fetch,
        fetch_workers=fetch_workers, parse_processes=parse_processes,
        public_dir=public_dir, templates_dir=templates_dir, tagging_dir=tagging_dir, feeds=feeds,
        digest=digest, mail=mail, schedule=schedule, file_mode=file_mode,
    )


def _read_toml(path: Path) -> Table:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"], "check quoting and brackets near that line") from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"], "check the path and permissions") from exc


def _list(p: Problems, key: str, value: object) -> list[object]:
    if not isinstance(value, list):
        p.add("", key, "must be an array of tables", f'[[{key}]] name = "world" ...')
        return []
    return list(value)


def _file_mode(s: Section) -> int:
    """`[paths] file_mode`: an octal string such as "0640" (at most 0777, readable by its owner)."""
    example = 'file_mode = "0640"'
    raw = s.data.get("file_mode", "0644")
    if not isinstance(raw, str) or not _FILE_MODE.fullmatch(raw.strip()):
        s.add("file_mode", f"must be an octal permission string from 0000 to 0777 in quotes, got {raw!r}", example)
        return DEFAULT_FILE_MODE
    mode = int(raw.strip(), 8)
    if not mode & 0o400:
        s.add("file_mode", f"{raw!r} does not let the owner read the files feedpipe writes", example)
        return DEFAULT_FILE_MODE
    return mode


def _str(s: Section, key: str, default: str, example: str) -> str:
    value = s.data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        s.add(key, f"must be a non-empty string, got {value!r}", example)
        return default
    return value


def _positive(s: Section, key: str, default: float) -> float:
    value = s.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        s.add(key, f"must be a positive number, got {value!r}", f"{key} = {default:g}")
        return default
    return float(value)


def _positive_int(s: Section, key: str, default: int) -> int:
    value = s.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        s.add(key, f"must be a positive integer, got {value!r}", f"{key} = {default}")
        return default
    return value


def _outlet(s: Section) -> OutletSettings:
    s.unknown_keys(OUTLET_KEYS)
    d = OutletSettings()
    url_example = 'public_url = "https://news.example.org"'
    public_url = _str(s, "public_url", d.public_url, url_example)
    is_http_url(s.problems, "outlet", "public_url", public_url, url_example)
    contact_example = 'contact_url = "https://example.org/about"'
    contact = _str(s, "contact_url", d.contact_url, contact_example)
    is_http_url(s.problems, "outlet", "contact_url", contact, contact_example)
    tz = _str(s, "timezone", d.timezone, 'timezone = "Europe/London"')
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        s.add("timezone", f"{tz!r} is not an IANA time zone", 'timezone = "Europe/Moscow"')
        tz = d.timezone
    return OutletSettings(
        name=_str(s, "name", d.name, 'name = "The Example Times"'),
        public_url=public_url.rstrip("/"),
        language=_str(s, "language", d.language, 'language = "en"'),
        timezone=tz,
        country=country_code(s.problems, "outlet", "country", s.data.get("country")),
        contact_url=contact,
    )


def _store_url(s: Section, base_dir: Path) -> str:
    s.unknown_keys(("url", "path"))
    if "url" in s.data:
        return _str(s, "url", "", 'url = "postgresql+psycopg://feedpipe@localhost/feedpipe"')
    return f"sqlite:///{resolve_path(base_dir, s.data.get('path', 'var/feedpipe.db'))}"


def _fetch(s: Section, outlet: OutletSettings) -> tuple[FetchSettings, int, int | str]:
    s.unknown_keys(FETCH_KEYS)
    agent = f"feedpipe/{__version__} (+{outlet.contact_url})"
    settings = FetchSettings(
        user_agent=_str(s, "user_agent", agent, f'user_agent = "{agent}"'),
        connect_timeout=_positive(s, "connect_timeout", 10.0),
        read_timeout=_positive(s, "read_timeout", 20.0),
        deadline=_positive(s, "deadline", 60.0),
        max_bytes=_positive_int(s, "max_bytes", 10_000_000),
        max_redirects=_positive_int(s, "max_redirects", 5),
        allow_private_addresses=s.flag("allow_private_addresses", False, "allow_private_addresses = true"),
    )
    raw = s.data.get("processes", "auto")
    processes: int | str = "auto"
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        processes = raw
    elif raw != "auto":
        s.add("processes", f'must be "auto" or a whole number >= 0, got {raw!r}', "processes = 2")
    return settings, _positive_int(s, "workers", 4), processes
