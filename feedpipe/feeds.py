"""Articles + a feed's spec + settings → RSS 2.0, Atom 1.0 (feedgen) and JSON Feed 1.1 bytes; the OPML index.

Pure: no store, no disk, no clock. The same articles give the same bytes: a feed's `updated`
(and RSS `lastBuildDate`) is its newest entry's date, never the build time.

Ids: every entry's id (Atom `id`, RSS `guid isPermaLink="false"`, JSON Feed `id`) is a tag: URI
(RFC 4151) built from the article's stable id, so an edited headline or a URL that gained tracking
parameters is the same entry to a reader.
"""

from __future__ import annotations

import json
import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from feedpipe import __version__
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe

FORMATS = ("rss", "atom", "json")
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
    "opml": "text/x-opml",
}
COUNTRY_SCHEME = "urn:iso:std:iso:3166:-1"  # ISO 3166-1 (RFC 5141 URN); terms are alpha-2 codes
IPTC_SCHEME = "http://cv.iptc.org/newscodes/mediatopic/"  # terms are the numeric part of medtop:NNNNNNNN
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR_URI = "https://github.com/feedpipe/feedpipe"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `updated` of a feed with no entries: stable, never "now"

_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    """One feed: which articles (kind + code) and where it lives (path stem, without extension)."""

    kind: str  # all | country | topic | section
    code: str  # "" for all, "UA", "medtop:11000000", "sub:sanctions", "news"
    slug: str  # "ua", "politics", "sub-sanctions", "news"; "all" for all
    title: str
    subtitle: str
    stem: str  # "all", "country/ua", "topic/politics", "section/news"

    @property
    def key(self) -> tuple[str, str]:
        """The store's dirty-feed key for this feed."""
        return (self.kind, self.code)

    def path(self, fmt: str) -> str:
        return f"{self.stem}.{fmt}"


# --- specs ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def slugify(text: str) -> str:
    """ "conflict, war and peace" → "conflict-war-and-peace"; ASCII, lower case, hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@lru_cache(maxsize=4096)
def topic_slug(code: str, label: str) -> str:
    """IPTC topics by label ("politics"); outlet subtopics "sub:sanctions" → "sub-sanctions"."""
    if code.startswith("sub:"):
        return "sub-" + (slugify(code[4:]) or slugify(label) or "topic")
    return slugify(label) or slugify(code.split(":", 1)[-1]) or "topic"


def all_spec(settings: FeedSettings) -> FeedSpec:
    return FeedSpec(
        kind="all",
        code="",
        slug="all",
        title=settings.title,
        subtitle=settings.subtitle or f"All articles from {settings.title}",
        stem="all",
    )


def country_spec(code: str, name: str, settings: FeedSettings) -> FeedSpec:
    slug = code.lower()
    return FeedSpec(
        kind="country",
        code=code.upper(),
        slug=slug,
        title=f"{settings.title}: {name}",
        subtitle=f"Articles about {name} from {settings.title}",
        stem=f"country/{slug}",
    )


def topic_spec(code: str, label: str, settings: FeedSettings, slug: str | None = None) -> FeedSpec:
    slug = slug or topic_slug(code, label)
    return FeedSpec(
        kind="topic",
        code=code,
        slug=slug,
        title=f"{settings.title}: {label}",
        subtitle=f"Articles on {label} from {settings.title}",
        stem=f"topic/{slug}",
    )


def section_spec(name: str, settings: FeedSettings) -> FeedSpec:
    slug = slugify(name) or "section"
    label = name.replace("-", " ").replace("_", " ").capitalize()
    return FeedSpec(
        kind="section",
        code=name,
        slug=slug,
        title=f"{settings.title}: {label}",
        subtitle=f"{label} from {settings.title}",
        stem=f"section/{slug}",
    )


def topic_specs(labels: dict[str, str], settings: FeedSettings) -> list[FeedSpec]:
    """One spec per topic code, slugs made unique (a clash gets the code appended), in code order."""
    specs, taken = [], set()
    for code in sorted(labels):
        slug = topic_slug(code, labels[code])
        if slug in taken:
            slug = f"{slug}-{slugify(code.split(':', 1)[-1])}"
        taken.add(slug)
        specs.append(topic_spec(code, labels[code], settings, slug))
    return specs


# --- text and dates ---------------------------------------------------------------------------


class _ZuluDateTime(datetime):
    """A UTC datetime whose isoformat() ends in "Z", as feed validators prefer (feedgen calls isoformat)."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return datetime.isoformat(self, sep)[:19] + "Z"  # whole seconds, UTC: "...+00:00" → "Z"


def _utc(value: datetime | None) -> datetime | None:
    """UTC to the second (RSS dates carry no fractions, so every format shows the same instant)."""
    if value is None:
        return None
    if value.tzinfo is None:  # the store only holds aware datetimes; be lenient with other callers
        value = value.replace(tzinfo=UTC)
    v = value.astimezone(UTC)
    return _ZuluDateTime(v.year, v.month, v.day, v.hour, v.minute, v.second, tzinfo=UTC)


def _rfc3339(value: datetime) -> str:
    return datetime.isoformat(value.astimezone(UTC))[:19] + "Z"


def _dates(article: Article) -> tuple[datetime, datetime]:
    """(published, updated), both UTC to the second; updated is never before published."""
    published = _utc(article.published_at) or _utc(article.updated_at) or _utc(EPOCH)
    updated = _utc(article.updated_at) or published
    return published, max(published, updated)


def feed_updated(articles: Iterable[Article]) -> datetime:
    """The newest entry's updated (or published) date: the feed's `updated`, not the build time."""
    return max((_dates(a)[1] for a in articles), default=_utc(EPOCH))


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


def feed_id(spec: FeedSpec, settings: FeedSettings) -> str:
    return f"tag:{settings.tag_authority}:feed:{spec.stem}"


def feed_url(spec: FeedSpec, fmt: str, settings: FeedSettings) -> str:
    return f"{settings.feeds_url}/{spec.path(fmt)}"


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


# --- one entry, prepared once for every format -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    title: str
    link: str
    summary: str
    content: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    categories: tuple[tuple[str, str, str], ...]  # (scheme, term, label)
    image: str
    image_type: str
    language: str
    json: str | None = None  # the JSON Feed item, made on first use


EntryCache = dict  # article id -> (Article, _Entry): one build's prepared entries, see render_all


def _entries(
    articles: Sequence[Article], settings: FeedSettings, cache: EntryCache | None = None
) -> list[_Entry]:
    """The newest `max_entries` articles, cleaned of XML-forbidden characters, dates in UTC."""
    out = []
    for article in articles[: settings.max_entries]:
        if cache is not None:
            hit = cache.get(article.id)
            if hit is not None and hit[0] is article:
                out.append(hit[1])
                continue
        published, updated = _dates(article)
        image = xml_safe(article.image)
        out.append(
            _Entry(
                id=entry_id(article, settings),
                title=_title(article),
                link=xml_safe(article.canonical_url or article.url),
                summary=xml_safe(article.summary),
                content=xml_safe(article.content_html),
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


# --- RSS and Atom (feedgen) -------------------------------------------------------------------


def _generator(spec: FeedSpec, entries: list[_Entry], settings: FeedSettings) -> FeedGenerator:
    """One FeedGenerator for both XML formats: the core fields. Categories, enclosures and RSS
    authors are added to each format's tree afterwards (cheaper, and feedgen 1.x drops the rel and
    type of entry links and has no RSS author without an e-mail address)."""
    fg = FeedGenerator()
    fg.id(feed_id(spec, settings))
    fg.title(xml_safe(spec.title))
    fg.subtitle(xml_safe(spec.subtitle) or xml_safe(spec.title))
    fg.author({"name": xml_safe(settings.author or settings.title)})
    fg.language(settings.language)
    fg.generator(xml_safe(settings.generator), version=__version__, uri=GENERATOR_URI)
    fg.ttl(settings.ttl)
    fg.updated(max((e.updated for e in entries), default=_utc(EPOCH)))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(e.id)
        fe.title(e.title)
        fe.link(href=e.link, rel="alternate")
        if e.summary:
            fe.summary(e.summary)
        if e.content:
            fe.content(e.content, type="html")
        if e.authors:
            fe.author([{"name": a} for a in e.authors])
        fe.published(e.published)
        fe.updated(e.updated)
    return fg


def _atom_bytes(fg: FeedGenerator, entries: list[_Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    links = [
        {"href": settings.public_url, "rel": "alternate", "type": "text/html"},
        {"href": feed_url(spec, "atom", settings), "rel": "self", "type": MEDIA_TYPES["atom"]},
    ]
    if settings.websub_hub:
        links.append({"href": settings.websub_hub, "rel": "hub"})
    fg.link(links, replace=True)
    root, doc = fg._create_atom()  # feedgen 1.x (pinned < 2)
    sub = etree.SubElement
    for node, e in zip(root.iterfind("entry"), entries, strict=True):
        if e.image:
            sub(node, "link", href=e.image, rel="enclosure", type=e.image_type)
        for scheme, term, label in e.categories:
            sub(node, "category", term=term, scheme=scheme, label=label)
    return etree.tostring(doc, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _rss_bytes(fg: FeedGenerator, entries: list[_Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    # feedgen's RSS <link> is the last link given; the hub link is added below.
    fg.link(
        [
            {"href": feed_url(spec, "rss", settings), "rel": "self", "type": MEDIA_TYPES["rss"]},
            {"href": settings.public_url, "rel": "alternate"},
        ],
        replace=True,
    )
    old_root = fg._create_rss()[0]  # feedgen 1.x (pinned < 2)
    root = etree.Element("rss", nsmap={**old_root.nsmap, "dc": _DC_NS}, version="2.0")
    channel = old_root[0]
    root.append(channel)
    if settings.websub_hub:
        selflink = channel.find(f"{{{_ATOM_NS}}}link")
        selflink.addnext(etree.Element(f"{{{_ATOM_NS}}}link", href=settings.websub_hub, rel="hub"))
    sub = etree.SubElement
    creator = f"{{{_DC_NS}}}creator"
    for node, e in zip(channel.iterfind("item"), entries, strict=True):
        # <category>: the code with its scheme as domain (for filters), then the label alone (for people).
        for scheme, term, _ in e.categories:
            sub(node, "category", domain=scheme).text = term
        for label in dict.fromkeys(label for _, term, label in e.categories if label and label != term):
            sub(node, "category").text = label
        if e.image:
            sub(node, "enclosure", url=e.image, length="0", type=e.image_type)
        for author in e.authors:
            sub(node, creator).text = author
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def render_rss(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    entries = _entries(articles, settings)
    return _rss_bytes(_generator(spec, entries, settings), entries, spec, settings)


def render_atom(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    entries = _entries(articles, settings)
    return _atom_bytes(_generator(spec, entries, settings), entries, spec, settings)


# --- JSON Feed 1.1 ----------------------------------------------------------------------------


def _json_item(e: _Entry) -> str:
    item: dict = {"id": e.id, "url": e.link, "title": e.title}
    if e.content:
        item["content_html"] = e.content
    else:
        item["content_text"] = e.summary or e.title
    if e.summary:
        item["summary"] = e.summary
    if e.image:
        item["image"] = e.image
    item["date_published"] = _rfc3339(e.published)
    item["date_modified"] = _rfc3339(e.updated)
    if e.authors:
        item["authors"] = [{"name": a} for a in e.authors]
    if e.categories:
        item["tags"] = list(dict.fromkeys(label for _, _, label in e.categories))
        item["_feedpipe"] = {
            "categories": [{"scheme": s, "term": t, "label": lb} for s, t, lb in e.categories]
        }
    if e.language:
        item["language"] = e.language
    return _dumps(item)


# Compact: json's C encoder only runs without indent, and readers do not need the whitespace.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_bytes(entries: list[_Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    feed: dict = {
        "version": JSONFEED_VERSION,
        "title": xml_safe(spec.title),
        "home_page_url": settings.public_url,
        "feed_url": feed_url(spec, "json", settings),
        "description": xml_safe(spec.subtitle),
        "language": settings.language,
        "authors": [{"name": xml_safe(settings.author or settings.title)}],
    }
    if settings.websub_hub:
        feed["hubs"] = [{"type": "WebSub", "url": settings.websub_hub}]
    items = []
    for e in entries:
        if e.json is None:  # once per entry, however many feeds share it
            object.__setattr__(e, "json", _json_item(e))
        items.append(e.json)
    head = _dumps(feed)[:-1]  # the feed object without its closing brace; "items" goes last
    return f'{head},"items":[{",".join(items)}]}}\n'.encode()


def render_json(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    return _json_bytes(_entries(articles, settings), spec, settings)


def render_all(
    spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings, *, cache: EntryCache | None = None
) -> dict[str, bytes]:
    """All three formats from one preparation of the entries and one feedgen build.

    `cache`: pass the same dict to every call of one build (same settings) and an article shared by
    several feeds is cleaned and prepared once; entries are reused only for the very same Article
    object, so a changed article is never rendered stale.
    """
    entries = _entries(articles, settings, cache)
    fg = _generator(spec, entries, settings)
    return {
        "rss": _rss_bytes(fg, entries, spec, settings),
        "atom": _atom_bytes(fg, entries, spec, settings),
        "json": _json_bytes(entries, spec, settings),
    }


# --- OPML -------------------------------------------------------------------------------------

_GROUPS = (("all", None), ("country", "Countries"), ("topic", "Topics"), ("section", "Sections"))


def render_opml(specs: Iterable[FeedSpec], settings: FeedSettings, fmt: str = "rss") -> bytes:
    """OPML 2.0 listing every feed (in one format, RSS by default) with its title, grouped by kind."""
    specs = list(specs)
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_safe(f"{settings.title} feeds")
    body = etree.SubElement(root, "body")

    def outline(parent, spec: FeedSpec) -> None:
        etree.SubElement(
            parent,
            "outline",
            type="rss",
            version="RSS2" if fmt == "rss" else fmt.upper(),
            text=xml_safe(spec.title),
            title=xml_safe(spec.title),
            xmlUrl=feed_url(spec, fmt, settings),
            htmlUrl=settings.public_url,
        )

    for kind, group_title in _GROUPS:
        members = [s for s in specs if s.kind == kind]
        if not members:
            continue
        parent = body if group_title is None else etree.SubElement(body, "outline", text=group_title)
        for spec in members:
            outline(parent, spec)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
