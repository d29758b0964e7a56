"""The `[feeds]` table: validated into FeedSettings."""

from __future__ import annotations

import re
from dataclasses import fields
from urllib.parse import urlsplit

from feedpipe.config.reader import Problems, Section, Table, known
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_TAG_AUTHORITY = re.compile(r"^[A-Za-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?$")
_URL_EXAMPLES = {"public_url": '"https://news.example.org"', "websub_hub": '"https://pubsubhubbub.appspot.com/"'}
FEED_KEYS = known("feeds", [f.name for f in fields(FeedSettings)])
_TEXT_EXAMPLES = {"title": '"Example News"', "subtitle": '"News from Eastern Europe"',
                  "author": '"Example News desk"', "generator": '"feedpipe"'}


def parse_feed_settings(table: Table, *, where: str) -> tuple[FeedSettings, list[str]]:
    """Validate the `[feeds]` table; every key has a default, so an empty table is valid.

    Returns the settings (defaults in place of bad values) and every problem found, each naming
    `where`, the key, what is wrong and an example of a right value.
    """
    problems = Problems(where)
    s = Section(problems, "feeds", table)
    s.unknown_keys(FEED_KEYS)
    d = FeedSettings()
    public_url = _url(s, "public_url")
    author = _text(s, "author")
    settings = FeedSettings(
        public_url=d.public_url if public_url is None else public_url.rstrip("/"),
        websub_hub=_url(s, "websub_hub") if table.get("websub_hub") not in (None, "") else None,
        title=_text(s, "title") or d.title,
        subtitle=_text(s, "subtitle") or d.subtitle,
        author=author or None if "author" in table else d.author,
        generator=_text(s, "generator") or d.generator,
        language=_language(s) or d.language,
        max_entries=_bounded(s, "max_entries", d.max_entries, 1),
        ttl=_bounded(s, "ttl", d.ttl, 0),
        id_authority=_id_authority(s) or d.id_authority,
    )
    return settings, problems.lines


def _url(s: Section, key: str) -> str | None:
    value = s.data.get(key)
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or not isinstance(value, str)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        s.add(key, f"must be an absolute http(s) URL, got {value!r}", f"{key} = {_URL_EXAMPLES[key]}")
        return None
    return value


def _text(s: Section, key: str) -> str | None:
    """A one-line, XML-safe string, stripped; None when absent or wrong (and a problem then)."""
    if key not in s.data:
        return None
    value = s.data[key]
    if (
        not isinstance(value, str)
        or xml_safe(value) != value
        or "\n" in value
        or (key != "subtitle" and not value.strip())
    ):
        s.add(key, f"must be a one-line string{'' if key == 'subtitle' else ' (not empty)'}, got {value!r}",
              f"{key} = {_TEXT_EXAMPLES[key]}")
        return None
    return value.strip()


def _language(s: Section) -> str | None:
    if "language" not in s.data:
        return None
    value = s.data["language"]
    if isinstance(value, str) and _LANGUAGE.match(value):
        return value
    s.add("language", f"must be a language tag, got {value!r}", 'language = "en" or "uk" or "pt-BR"')
    return None


def _bounded(s: Section, key: str, default: int, low: int) -> int:
    value = s.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or value > 100_000:
        what = "a positive integer" if low else "an integer number of minutes (0 or more)"
        s.add(key, f"must be {what}, got {value!r}", f"{key} = {default}")
        return default
    return value


def _id_authority(s: Section) -> str | None:
    if "id_authority" not in s.data:
        return None
    value = s.data["id_authority"]
    if isinstance(value, str) and _TAG_AUTHORITY.match(value):
        return value
    s.add("id_authority", f"must be 'domain,year' (RFC 4151 tag authority), never changed once feeds are public; "
          f"got {value!r}", 'id_authority = "news.example.org,2026"')
    return None
