"""Feed adapters: RSS 0.9x/1.0/2.0 and Atom via feedparser-rs with feedparser as the fallback
(extract/feed_fast.py decides which reads a document), JSON Feed 1.0/1.1 via json. Never fetches."""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
import time
from collections.abc import Mapping, Set
from typing import Literal, Protocol, overload

import feedparser

from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Article
from feedpipe.core.text import one_line, xml_safe

from .article import absolute, make_article
from .clean import html_to_text, sanitize_html
from .dates import date_from_url, entry_published, first_date, from_struct, parse_date
from .feed_fast import fast_parse
from .urls import canonical_url

log = logging.getLogger(__name__)

Reader = Literal["auto", "feedparser", "fast"]
FPDict = dict[str, object]
"""One of feedparser's result mappings (a FeedParserDict, a dict subclass). feedparser ships no types,
so this is the boundary: values are narrowed where they are read (_str, _dicts, _struct)."""


class _Get(Protocol):
    """`dict.get` as used on FPDicts: a value to narrow, or the default."""

    @overload
    def __call__(self, d: FPDict, key: str, /) -> object: ...
    @overload
    def __call__(self, d: FPDict, key: str, default: object, /) -> object: ...


# feedparser's FeedParserDict.get maps legacy key names and raises/catches KeyError for every missing key;
# for the keys read here (none is a legacy alias or computed: not "url", "enclosures", "updated*")
# the plain dict lookup gives the same value at a fraction of the cost.
_get: _Get = dict.get

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_NOT_A_FEED_HINT = (
    "check that the URL points at the RSS/Atom/JSON feed itself (not the site's home page); "
    "a page that links to its feed usually has <link rel=\"alternate\" type=\"application/rss+xml\">"
)


_BROKEN_HINT = (
    "the feed's XML is broken and no items could be read; check it with https://validator.w3.org/feed/ "
    "and tell the publisher"
)
_JSON_TYPES = ("application/feed+json", "application/json")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dicts(value: object) -> list[FPDict]:
    """The mappings in one of feedparser's list values (entries, authors, tags, content, media, links)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _struct(value: object) -> time.struct_time | None:
    return value if isinstance(value, time.struct_time) else None


def looks_like_json_feed(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and (b"jsonfeed.org" in head or b'"items"' in body[:65536])


def parse_feed(body: bytes, base_url: str, *, source: str, content_type: str | None = None,
               reader: Reader = "auto") -> list[Article]:
    """Articles of one feed document; ExtractError when it is not a feed or hopelessly malformed.

    `reader`: "auto" reads with the fast parser where it agrees with feedparser, else feedparser;
    "feedparser" and "fast" (unguarded, feedparser where it reads nothing) are for comparing them.
    """
    ctype = (content_type or "").split(";")[0].strip().lower()
    if looks_like_json_feed(body) or (ctype in _JSON_TYPES and body.lstrip()[:1] == b"{"):
        return parse_json_feed(body, base_url, source=source)
    result = None if reader == "feedparser" else fast_parse(body, content_type, guarded=reader == "auto",
                                                               base_url=base_url)
    if result is None:
        result = _feedparser_result(body, base_url, content_type)
    entries = _dicts(result.get("entries"))
    looks_html = _HTML_START.search(body[:4096]) is not None
    if looks_html and not entries and not result.get("version"):
        raise ExtractError(f"{base_url}: this is an HTML page, not a feed", _NOT_A_FEED_HINT)
    if result.get("bozo") and not entries:
        reason = one_line(str(result.get("bozo_exception") or "unknown problem"))
        raise ExtractError(f"{base_url}: not a readable feed ({reason[:200]})", _BROKEN_HINT)
    if not entries and not result.get("version"):
        raise ExtractError(f"{base_url}: not a feed (no RSS, Atom or JSON Feed document found)", _NOT_A_FEED_HINT)
    if result.get("bozo"):
        log.info("%s: feed has problems but %d entries were read: %s", base_url, len(entries),
                 one_line(str(result.get("bozo_exception")))[:200])
    feed_meta = result.get("feed")
    feed_lang = _str(feed_meta.get("language")) if isinstance(feed_meta, dict) else None
    href = base_url
    out: list[Article] = []
    seen_ids: set[str] = set()
    seen_guids: set[str] = set()
    shared = _shared_links(entries, href)
    for entry in entries:
        art = _from_feedparser_entry(entry, href, source=source, feed_language=feed_lang, shared_links=shared)
        if art is None:
            continue
        if art.id in seen_ids or (art.guid and art.guid in seen_guids):
            log.debug("%s: duplicate entry %s skipped", base_url, art.guid or art.url)
            continue
        seen_ids.add(art.id)
        if art.guid:
            seen_guids.add(art.guid)
        out.append(art)
    return out


def _feedparser_result(body: bytes, base_url: str, content_type: str | None) -> FPDict:
    """feedparser's reading of the document: the reference, for every feed the fast path declines."""
    # The document URL is the base for relative links (feedparser reads it from Content-Location).
    headers = {"content-location": base_url} if base_url.startswith(("http://", "https://")) else {}
    if content_type:
        headers["content-type"] = content_type
    try:
        result: FPDict = feedparser.parse(
            body,
            response_headers=headers or None,
            # nh3 sanitises and absolutises below (against the content's xml:base); feedparser's own
            # passes over embedded HTML would be wasted work.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser is robust, but a parser crash must stay one source's problem
        raise ExtractError(f"{base_url}: the feed parser failed ({type(exc).__name__}: {one_line(str(exc))[:160]})",
                           "the feed is badly malformed; validate it at https://validator.w3.org/feed/") from exc
    return result


def _shared_links(entries: list[FPDict], base_url: str) -> set[str]:
    """Canonical links that several entries with different guids point at (e.g. a podcast's home page).

    Such a link does not identify an article, so those entries are keyed by guid instead. A guid that
    is the link plus a fragment ("...#0", "...#10", as BBC feeds do) is the same article, not a new one.
    """
    guids_by_link: dict[str, set[str]] = {}
    for e in entries:
        link = canonical_url(absolute(_str(_get(e, "link")), base_url))
        guid = one_line(_str(_get(e, "id")))
        if link and guid:
            guids_by_link.setdefault(link, set()).add(canonical_url(guid) if "://" in guid else guid)
    return {link for link, guids in guids_by_link.items() if len(guids - {link}) > 1}


def _text_of(detail: object, value: str) -> str:
    if isinstance(detail, dict) and detail and str(_get(detail, "type", "")).lower() in _HTML_TYPES:
        return html_to_text(value)
    return value or ""


def _from_feedparser_entry(
    entry: FPDict, base_url: str, *, source: str, feed_language: str | None, shared_links: Set[str] = frozenset()
) -> Article | None:
    title = one_line(_text_of(_get(entry, "title_detail"), _str(_get(entry, "title")) or ""))
    guid = one_line(_str(_get(entry, "id"))) or None
    link = absolute(_str(_get(entry, "link")), base_url)
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    if not (link or guid or title):
        return None
    content_html, content_lang, content_base = _best_content(entry)
    summary_raw = _str(_get(entry, "summary")) or ""
    detail = _get(entry, "summary_detail")
    summary_detail = detail if isinstance(detail, dict) else None
    summary_is_html = not summary_detail or str(_get(summary_detail, "type", "")).lower() in _HTML_TYPES
    if not content_html and summary_raw:
        has_markup = "<" in summary_raw and ">" in summary_raw
        content_html = summary_raw if summary_is_html and has_markup else _text_as_html(summary_raw)
    if not content_base and summary_detail:
        content_base = _str(_get(summary_detail, "base"))
    safe_html = sanitize_html(content_html, content_base or base_url)
    text = html_to_text(safe_html)
    summary = html_to_text(summary_raw) if summary_is_html else summary_raw.strip()
    # plain lookup: no feedparser fallback warning
    updated = from_struct(_struct(dict.get(entry, "updated_parsed")))
    published = entry_published(
        parsed=[_struct(_get(entry, k)) for k in ("published_parsed", "created_parsed", "updated_parsed")],
        raw=[_str(_get(entry, k)) for k in ("published", "created", "updated")],
        language=content_lang or feed_language, url=link)
    authors = [_str(_get(a, "name")) or _str(_get(a, "email")) for a in _dicts(_get(entry, "authors"))]
    if not any(authors) and _get(entry, "author"):
        authors = [_str(_get(entry, "author"))]
    categories = [_str(_get(t, "term")) or _str(_get(t, "label")) for t in _dicts(_get(entry, "tags"))]
    image = _image_of(entry, link or base_url)
    language = content_lang or (_str(_get(summary_detail, "language")) if summary_detail else None) or feed_language
    return make_article(
        source=source,
        url=link,
        title=title,
        guid=guid,
        summary=summary,
        content_html=safe_html,
        text=text,
        published_at=published,
        updated_at=updated,
        authors=authors,
        categories=categories,
        image=image,
        language=language,
        id_from_guid=bool(link) and canonical_url(link) in shared_links,
    )


def _text_as_html(text: str) -> str:
    paras = [p.strip() for p in xml_safe(text).split("\n\n") if p.strip()]
    return "".join(f"<p>{html_lib.escape(p)}</p>" for p in paras)


def _best_content(entry: FPDict) -> tuple[str, str | None, str | None]:
    """The longest content block (plain text escaped into paragraphs), its language and xml:base."""
    best, best_lang, best_base, best_len = "", None, None, -1
    for c in _dicts(_get(entry, "content")):
        value = _str(_get(c, "value")) or ""
        is_html = str(_get(c, "type", "")).lower() in _HTML_TYPES
        html = value if is_html else _text_as_html(value)
        if len(html) > best_len:
            best, best_lang, best_base, best_len = html, _str(_get(c, "language")), _str(_get(c, "base")), len(html)
    return best, best_lang, best_base


def _image_of(entry: FPDict, base: str) -> str | None:
    # "url" (an alias of "href") and "enclosures" (computed) need FeedParserDict's own .get
    for m in _dicts(_get(entry, "media_content")):
        medium, mtype = str(_get(m, "medium", "")), str(_get(m, "type", ""))
        url = _str(m.get("url"))
        if url and (medium == "image" or mtype.startswith("image/") or (not medium and not mtype)):
            return absolute(url, base)
    for m in _dicts(_get(entry, "media_thumbnail")):
        if url := _str(m.get("url")):
            return absolute(url, base)
    for enc in _dicts(entry.get("enclosures")):
        href = _str(_get(enc, "href"))
        if str(_get(enc, "type", "")).startswith("image/") and href:
            return absolute(href, base)
    for lnk in _dicts(_get(entry, "links")):
        href = _str(_get(lnk, "href"))
        if _get(lnk, "rel") == "enclosure" and str(_get(lnk, "type", "")).startswith("image/") and href:
            return absolute(href, base)
    image = _get(entry, "image")
    if isinstance(image, dict) and (href := _str(image.get("href"))):
        return absolute(href, base)
    return None


# --- JSON Feed (https://jsonfeed.org/version/1.1) ---------------------------------------------------


def parse_json_feed(body: bytes, base_url: str, *, source: str) -> list[Article]:
    """JSON Feed 1.0/1.1 → Articles: the one adapter for that wire format."""
    try:
        doc = json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ExtractError(f"{base_url}: JSON Feed is not valid JSON (line {exc.lineno}: {exc.msg})",
                           "validate the feed's JSON; a JSON Feed is one object with 'version' and 'items'") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ExtractError(f"{base_url}: not a JSON Feed (no 'items' list)",
                           "a JSON Feed is one object with 'version' and 'items'; see https://jsonfeed.org")
    base = absolute(doc.get("home_page_url"), base_url) or base_url
    feed_authors = _json_authors(doc)
    out: list[Article] = []
    seen: set[str] = set()
    for item in doc["items"]:
        if not isinstance(item, dict):
            continue
        guid = one_line(str(item["id"])) if item.get("id") is not None else None
        link = absolute(item.get("url") or item.get("external_url"), base)
        title = one_line(_str(item.get("title")))
        if not (link or guid or title):
            continue
        html = _str(item.get("content_html")) or ""
        text_raw = _str(item.get("content_text")) or ""
        safe = sanitize_html(html or _text_as_html(text_raw), link or base)
        summary = _str(item.get("summary")) or ""
        tags = item.get("tags")
        if not isinstance(tags, list):
            tags = []
        art = make_article(
            source=source,
            url=link,
            title=title or one_line(summary)[:120],
            guid=guid,
            summary=summary,
            content_html=safe,
            text=html_to_text(safe),
            published_at=first_date([item.get("date_published"), item.get("date_modified")],
                                    language=_str(item.get("language")) or _str(doc.get("language")))
            or date_from_url(link),
            updated_at=parse_date(item.get("date_modified")),
            authors=_json_authors(item) or feed_authors,
            categories=[t for t in tags if isinstance(t, str)],
            image=absolute(item.get("image") or item.get("banner_image"), base) or None,
            language=item.get("language") or doc.get("language"),
        )
        if art.id in seen or (art.guid and art.guid in seen):
            continue
        seen.add(art.id)
        if art.guid is not None:
            seen.add(art.guid)
        out.append(art)
    return out


def _json_authors(obj: Mapping[str, object]) -> list[str]:
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    return [name for a in authors if isinstance(a, dict) and isinstance(name := a.get("name"), str) and name]
