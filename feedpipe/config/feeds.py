"""The `[feeds]` table: validated into FeedSettings."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from urllib.parse import urlsplit

from feedpipe.config.reader import Problems, Table
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_TAG_AUTHORITY = re.compile(r"^[A-Za-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?$")


def parse_feed_settings(table: Table, *, where: str) -> tuple[FeedSettings, list[str]]:
    """Validate the `[feeds]` table; every key has a default, so an empty table is valid.

    Returns the settings (defaults in place of bad values) and every problem found, each naming
    `where`, the key, what is wrong and an example of a right value.
    """
    problems = Problems(where)
    defaults = FeedSettings()
    values: dict[str, object] = {}

    def problem(key: str, what: str, example: str) -> None:
        problems.add("feeds", key, what, example)

    problems.unknown_keys("feeds", table, [f.name for f in fields(FeedSettings)])
    for key in ("public_url", "websub_hub"):
        if key not in table or (key == "websub_hub" and table[key] in (None, "")):
            continue
        value = table[key]
        parts = urlsplit(value) if isinstance(value, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in value)
        ):
            example = (
                '"https://news.example.org"' if key == "public_url" else '"https://pubsubhubbub.appspot.com/"'
            )
            problem(key, f"must be an absolute http(s) URL, got {value!r}", f"{key} = {example}")
        else:
            values[key] = value.rstrip("/") if key == "public_url" else value
    for key, example in (
        ("title", '"Example News"'),
        ("subtitle", '"News from Eastern Europe"'),
        ("author", '"Example News desk"'),
        ("generator", '"feedpipe"'),
    ):
        if key not in table:
            continue
        value = table[key]
        if (
            not isinstance(value, str)
            or xml_safe(value) != value
            or "\n" in value
            or (key != "subtitle" and not value.strip())
        ):
            problem(
                key,
                f"must be a one-line string{'' if key == 'subtitle' else ' (not empty)'}, got {value!r}",
                f"{key} = {example}",
            )
        else:
            values[key] = value.strip() or None if key == "author" else value.strip()
    if "language" in table:
        value = table["language"]
        if isinstance(value, str) and _LANGUAGE.match(value):
            values["language"] = value
        else:
            problem(
                "language", f"must be a language tag, got {value!r}", 'language = "en" or "uk" or "pt-BR"'
            )
    for key, example, low in (("max_entries", "50", 1), ("ttl", "60", 0)):
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or value > 100_000:
            what = "a positive integer" if low else "an integer number of minutes (0 or more)"
            problem(key, f"must be {what}, got {value!r}", f"{key} = {example}")
        else:
            values[key] = value
    if "id_authority" in table:
        value = table["id_authority"]
        if isinstance(value, str) and _TAG_AUTHORITY.match(value):
            values["id_authority"] = value
        else:
            problem(
                "id_authority",
                f"must be 'domain,year' (RFC 4151 tag authority), never changed once feeds "
                f"are public; got {value!r}",
                'id_authority = "news.example.org,2026"',
            )
    return replace(defaults, **values), problems.lines
