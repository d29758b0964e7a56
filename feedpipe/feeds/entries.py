"""One feed entry, prepared once from an article for every format: ids, titles, dates and categories.

Ids: every entry's id (Atom `id`, RSS `guid isPermaLink="false"`, JSON Feed `id`) is a tag: URI
(RFC 4151) built from the article's stable id, so an edited headline or a URL that gained tracking
parameters is the same entry to a reader.

Dates are UTC to the second; a feed's `updated` is its newest entry's date, never the build time. An
undated article's entry shows the time feedpipe first saw it (see `_dates`).

Nothing active is published: the link and the image pass the one safe-URL rule (`core.urls`) or are
left out (an article without a public URL, such as a local file's, gets no link at all), and the
HTML content is sanitised again with the one nh3 policy (`core.html`), unless the store stamped it as
already clean: `core.html_stamp.html_stamp` checks, when an article is stored, that this very pass would leave its HTML
unchanged, and binds that to the policy version, the link and the HTML's own bytes, so the stored
HTML is what the pass would publish (an older policy, another link or edited HTML is sanitised again).
Titles, summaries, authors and categories are text; each format writes them as text (see `render`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar
from urllib.parse import quote

from feedpipe.core.html import sanitize_html
from feedpipe.core.html_stamp import html_digest, public_link
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.core.urls import safe_url
from feedpipe.feeds.specs import slugify, topic_slug

COUNTRY_SCHEME = "urn:iso:std:iso:3166:-1"  # ISO 3166-1 (RFC 5141 URN); terms are alpha-2 codes
IPTC_SCHEME = "http://cv.iptc.org/newscodes/mediatopic/"  # terms are the numeric part of medtop:NNNNNNNN
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `updated` of a feed with no entries: stable, never "now"


class _ZuluDateTime(datetime):
    """A UTC datetime whose isoformat() ends in "Z", as feed validators prefer (feedgen calls isoformat)."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return datetime.isoformat(self, sep)[:19] + "Z"  # whole seconds, UTC: "...+00:00" → "Z"


def utc(value: datetime) -> datetime:
    """UTC to the second (RSS dates carry no fractions, so every format shows the same instant)."""
    if value.tzinfo is None:  # the store only holds aware datetimes; be lenient with other callers
        value = value.replace(tzinfo=UTC)
    v = value.astimezone(UTC)
    return _ZuluDateTime(v.year, v.month, v.day, v.hour, v.minute, v.second, tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    return datetime.isoformat(value.astimezone(UTC))[:19] + "Z"


def _dates(article: Article) -> tuple[datetime, datetime]:
    """(published, updated), both UTC to the second; updated is never before published.

    An article no date was found for shows when feedpipe first saw it: every format needs a date per
    entry, and that is the one true thing known about it (its place in the feed is decided by the store,
    see `extract.dates.sort_time`)."""
    first = article.published_at or article.first_seen_at or article.updated_at
    published = utc(first if first is not None else EPOCH)
    updated = utc(article.updated_at) if article.updated_at is not None else published
    return published, max(published, updated)


def feed_updated(articles: Iterable[Article]) -> datetime:
    """The newest entry's updated (or published) date: the feed's `updated`, not the build time."""
    return max((_dates(a)[1] for a in articles), default=utc(EPOCH))


def _image_type(url: str) -> str:
    path = url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    return _image_type_of(path.rsplit(".", 1)[-1].lower() if "." in path else "")


@lru_cache(maxsize=256)
def _image_type_of(extension: str) -> str:
    guessed = mimetypes.guess_type(f"x.{extension}")[0] if extension else None
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _title(article: Article) -> str:
    title = " ".join(xml_safe(article.title).split())
    if title:
        return title
    summary = " ".join(xml_safe(article.summary).split())
    return (summary[:80] + "…") if len(summary) > 80 else (summary or "(untitled)")


def entry_id(article: Article, settings: FeedSettings) -> str:
    """A tag: URI from the stored id, which survives headline edits and tracking parameters."""
    return f"tag:{settings.tag_authority}:article:{quote(xml_safe(article.id), safe='')}"


def _categories(article: Article, settings: FeedSettings) -> list[tuple[str, str, str]]:
    """(scheme, term, label) for each focus country, each topic and the section."""
    cats = [
        (COUNTRY_SCHEME, c.code.upper(), c.name or c.code) for c in article.countries if c.role == "focus"
    ]
    for t in article.topics:
        if t.code.startswith("medtop:"):
            cats.append((IPTC_SCHEME, t.code[7:], t.label or t.code))
        else:
            cats.append((f"{settings.feeds_url}/topic/", topic_slug(t.code, t.label), t.label or t.code))
    if article.section:
        cats.append((f"{settings.feeds_url}/section/", slugify(article.section), article.section))
    return [(s, xml_safe(term), xml_safe(label)) for s, term, label in cats if term]


def _published_html(article: Article, link: str) -> str:
    """The article's HTML as a feed publishes it: sanitised with the one policy (skipped when the stamp
    says that would change nothing)."""
    stamp = article.html_policy
    if stamp is not None and stamp == html_digest(article.content_html, link):
        return article.content_html
    return sanitize_html(article.content_html, link or None)


T = TypeVar("T", bytes, str)


@dataclass(frozen=True, slots=True)
class Entry:
    """An article cleaned of XML-forbidden characters, with its id, dates and categories made."""

    id: str
    title: str
    link: str  # "" when the article has no URL that passes the safe-URL rule: no link is written
    summary: str
    content: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    categories: tuple[tuple[str, str, str], ...]  # (scheme, term, label)
    image: str
    image_type: str
    language: str
    json: str | None = None  # the JSON Feed item, made on first use (see feeds.jsonfeed)
    rss_xml: bytes | None = None  # the RSS <item>, made on first use (see feeds.fragments)
    atom_xml: bytes | None = None  # the Atom <entry>, likewise


def rendered(entries: Iterable[Entry], form: str, make: Callable[[Entry], T]) -> list[T]:
    """Each entry's rendering in one form ("json", "rss_xml", "atom_xml"), made on first use and kept on
    the entry: an article is in several feeds of one build ("all", its countries', topics' and section's),
    and is rendered once. The entry stays frozen for everything else; only this memo is filled in."""
    out: list[T] = []
    for e in entries:
        done: T | None = getattr(e, form)
        if done is None:
            done = make(e)
            object.__setattr__(e, form, done)
        out.append(done)
    return out


EntryCache = dict[str, tuple[Article, Entry]]  # article id -> (Article, Entry): one build's entries


def prepare_entries(
    articles: Sequence[Article], settings: FeedSettings, cache: EntryCache | None = None
) -> list[Entry]:
    """The newest `max_entries` articles, cleaned of XML-forbidden characters, dates in UTC.

    With `cache`, an entry is reused only for the very same Article object (see `render_all`).
    """
    out = []
    for article in articles[: settings.max_entries]:
        if cache is not None:
            hit = cache.get(article.id)
            if hit is not None and hit[0] is article:
                out.append(hit[1])
                continue
        published, updated = _dates(article)
        link = public_link(article)
        image = safe_url(article.image, base=link or None) or ""
        out.append(
            Entry(
                id=entry_id(article, settings),
                title=_title(article),
                link=link,
                summary=xml_safe(article.summary),
                content=_published_html(article, link),
                published=published,
                updated=updated,
                authors=tuple(a for a in (xml_safe(a).strip() for a in article.authors) if a),
                categories=tuple(_categories(article, settings)),
                image=image,
                image_type=_image_type(image) if image else "",
                language=xml_safe(article.language),
            )
        )
        if cache is not None:
            cache[article.id] = (article, out[-1])
    return out
