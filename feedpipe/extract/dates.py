"""When an article was published: the one place that reads dates and decides them.

Every extractor asks here (feeds, pages, JSON Lines, plain text), and the store asks here once it
knows when it first saw an article:

- `parse_date`: a date value in any format or language. The fast parsers go first (ISO 8601 /
  RFC 3339, RFC 822, feedparser's many handlers); only when all of them fail is dateparser asked,
  first in the document's language, then in a short list of common languages, then with its own
  language detection (the slow path: see benchmarks/bench_dates.py). Relative dates ("2 hours ago")
  and dates without a day, month and year are refused: they would need a clock, and a parser has none.
- `date_from_url`: the day in a URL path (`/2023/05/14/`, `-2023-05-14`).
- `page_published`: a page's own metadata (`article:published_time`, JSON-LD `datePublished`, ...),
  then the day trafilatura found, then the URL path.
- `entry_published`: a feed entry's parsed dates, then its raw date strings, then its URL path.
- `settle`: a date in the future beyond `FUTURE_SKEW` of the moment the article was first seen is a
  publisher's mistake (or a scheduled post shown early): it becomes that moment, and is logged.
- `sort_time`: where an article sits in the feeds. Dated: at its published date. Undated: at the
  moment it was first seen, except when it came with a source's first ingest (a backfill), where
  "first seen" says nothing about its age: then it has no place in time (None) and sorts below
  every dated article.

An article no date can be found for keeps `published_at = None`: it is never a candidate for a
digest's automatic selection (an editor may still pick it), and the feeds show its first-seen time.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from feedparser.datetimes import _parse_date as _feedparser_date

from feedpipe.extract.date_names import LANGUAGES as NAMED_LANGUAGES
from feedpipe.extract.date_names import named_rfc822

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

log = logging.getLogger(__name__)

FUTURE_SKEW = timedelta(days=1)
"""How far past the moment an article was first seen its published date may lie (clock skew, time
zones written wrongly) before it is taken for a mistake and clamped to that moment."""

# Tried after the document's own language and before dateparser's detection over all its locales
# (which is ~5x slower than this list, ~20x slower than one language).
COMMON_LANGUAGES = ("en", "es", "pt", "fr", "de", "it")

_DATEPARSER_SETTINGS = {
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],  # no "relative-time": no clock here
    "REQUIRE_PARTS": ["day", "month", "year"],  # a missing year would be filled from the system clock
    "TIMEZONE": "UTC",  # a date without a zone is UTC, as for the fast parsers
    "TO_TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
}
_LOCK = threading.Lock()
_MAX_SLOW_LENGTH = 80  # longer strings are prose, not dates: never handed to dateparser
_DIGIT = re.compile(r"\d")
_URL_DAY = re.compile(r"(?<!\d)((?:19|20)\d\d)([/_-])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # no web article is older: a smaller value is junk

# A page's own timestamp: <meta property="article:published_time" content="...">, in either attribute
# order, or JSON-LD "datePublished".
_META_TIME = re.compile(
    rb"""<meta\s[^>]*?(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|og:published_time|"""
    rb"""datePublished|pubdate|publishdate|dc\.date\.issued|sailthru\.date)["'][^>]*?content\s*=\s*["']([^"']{8,40})"""
    rb"""|<meta\s[^>]*?content\s*=\s*["']([^"']{8,40})["'][^>]*?(?:property|name|itemprop)\s*=\s*["']"""
    rb"""(?:article:published_time|og:published_time|datePublished|pubdate)["']"""
    rb'|"datePublished"\s*:\s*"([^"]{8,40})"',
    re.IGNORECASE,
)
_META_WINDOW = 262_144  # the head of a page, where its metadata lives


def to_utc(dt: datetime | None) -> datetime | None:
    """Timezone-aware UTC; a naive datetime is taken to be UTC already."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def from_struct(t: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed values are struct_time in UTC."""
    if not t:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(t), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def parse_date(value: object, *, language: str | None = None) -> datetime | None:
    """A date in any format or language, as aware UTC; None when it cannot be read.

    `language` (e.g. "pt-BR", from the feed or page) is tried first when the fast parsers fail."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(value, str):
        return None
    s = value.strip()
    return _fast(s) or _slow(s, _primary(language))


def _fast(s: str) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(s))
    except ValueError:
        pass
    try:
        return to_utc(parsedate_to_datetime(s))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return from_struct(_feedparser_date(s))
    except Exception:  # feedparser's date handlers raise assorted errors on junk
        return None


def _primary(language: str | None) -> str | None:
    """"pt-BR" -> "pt"; dateparser knows languages by their primary subtag."""
    if not language:
        return None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


@lru_cache(maxsize=4096)
def _slow(s: str, language: str | None) -> datetime | None:
    """dateparser: the document's language, then the common ones, then its own detection. An RFC 822
    date with another common language's names is read first without it (`date_names`: the same
    answer, without dateparser's ~0.4 s first use)."""
    if not s or len(s) > _MAX_SLOW_LENGTH or not _DIGIT.search(s):
        return None
    if language in (None, "en", *NAMED_LANGUAGES):
        order = tuple(lang for lang in (language, *COMMON_LANGUAGES) if lang in NAMED_LANGUAGES)
        named = named_rfc822(s, tuple(dict.fromkeys(order)))
        if named is not None:
            return to_utc(named)
    attempts: list[tuple[str, ...] | None] = []
    if language:
        attempts.append((language,))
    attempts.append(tuple(lang for lang in COMMON_LANGUAGES if lang != language))
    attempts.append(None)
    with _LOCK:  # a parser remembers the locale that worked last; dateparser holds the GIL anyway
        for languages in attempts:
            try:
                found = _parser(languages).get_date_data(s).date_obj
            except (ValueError, TypeError, OverflowError, LookupError):  # an unknown language code, junk
                found = None
            if found is not None:
                return to_utc(found)
    return None


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...] | None) -> DateDataParser:
    """One dateparser per language list, kept: building one costs more than a parse, and with
    `try_previous_locales` it tries the locale that read the last date first (a feed's dates share one).
    dateparser is imported on first use (~0.2 s): most runs read every date with the fast parsers."""
    from dateparser.date import DateDataParser  # noqa: PLC0415

    return DateDataParser(languages=list(languages) if languages else None, settings=_DATEPARSER_SETTINGS,
                          try_previous_locales=True)


def _sane(dt: datetime | None) -> datetime | None:
    return dt if dt is not None and dt >= _EARLIEST else None


def date_from_url(url: str | None) -> datetime | None:
    """The day a URL's path names (`/2023/05/14/`, `story-2023-05-14`), as UTC midnight; else None."""
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    path = path.split("://", 1)[-1].partition("/")[2]  # not the host
    m = _URL_DAY.search(path)
    if m is None:
        return None
    try:
        return _sane(datetime(int(m.group(1)), int(m.group(3)), int(m.group(4)), tzinfo=UTC))
    except ValueError:  # 2023/02/30
        return None


def first_date(values: Iterable[object], *, language: str | None = None) -> datetime | None:
    """The first of `values` that reads as a date."""
    for value in values:
        found = _sane(parse_date(value, language=language))
        if found is not None:
            return found
    return None


def entry_published(
    *,
    parsed: Sequence[time.struct_time | None] = (),
    raw: Sequence[str | None] = (),
    language: str | None = None,
    url: str | None = None,
) -> datetime | None:
    """A feed entry's published date: feedparser's parsed dates (published, created, updated), else its
    raw date strings read in any language (a `Seg, 24 Set 2018` feedparser cannot read), else the day
    in its URL path, else None."""
    for t in parsed:
        found = _sane(from_struct(t))
        if found is not None:
            return found
    return first_date(raw, language=language) or date_from_url(url)


def page_published(body: bytes, *, day: str | None, url: str | None, language: str | None = None) -> datetime | None:
    """A page's published date: its own timestamp (`article:published_time`, JSON-LD `datePublished`),
    checked against the day trafilatura found when there is one (a timestamp more than a day away from
    it is some other article's), else that day, else the day in the URL path, else None."""
    when = _sane(parse_date(day, language=language))
    m = _META_TIME.search(body[:_META_WINDOW])
    if m:
        raw = next(g for g in m.groups() if g).decode("utf-8", "replace")
        exact = _sane(parse_date(raw, language=language))
        if exact is not None and (when is None or abs(exact - when) < timedelta(days=2)):
            return exact
    return when or date_from_url(url)


def settle(published: datetime | None, *, first_seen: datetime, label: str = "") -> datetime | None:
    """`published`, unless it lies more than FUTURE_SKEW after `first_seen`: then `first_seen` (logged)."""
    if published is None or published.tzinfo is None or published <= first_seen + FUTURE_SKEW:
        return published  # (a naive datetime is the store's to refuse)
    log.warning("%s: published date %s is in the future (first seen %s); using the first-seen time",
                label or "article", published.isoformat(), first_seen.isoformat())
    return first_seen


def sort_time(published: datetime | None, *, first_seen: datetime, backfill: bool) -> datetime | None:
    """Where an article sits in time-ordered lists: its published date; undated, its first-seen time,
    unless it came with a source's first ingest (`backfill`): then None, below every dated article."""
    if published is not None:
        return published
    return None if backfill else first_seen
