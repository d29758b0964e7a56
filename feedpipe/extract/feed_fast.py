"""The fast path for RSS/Atom: feedparser-rs read into feedparser's result shape, or None to fall back.

feedparser-rs (Rust, quick-xml; a feedparser-compatible API) reads the same bytes about 20x faster
than feedparser. Its result is turned into the plain mappings feedparser returns, so that one
function (`feed._from_feedparser_entry`) maps an entry to an Article whichever parser read it.

It is used only where it reads a feed the way feedparser would (benchmarks/feed_agreement.py measures
that over every feed in the evaluation data). Anything else returns None and feedparser reads the feed:
  - the parser raised, or reports any problem (bozo): feedparser's recovery from broken XML differs;
  - no entries, or no recognised version: feedparser decides what the error is;
  - the document is neither UTF-8 nor declared Latin-1 without windows-1252 bytes, or the HTTP charset
    disagrees (feedparser's encoding guesses are its own);
  - a DOCTYPE (entity declarations: feedparser drops them, never expands them);
  - constructs feedparser reads its own way (_FEEDPARSER_ONLY): xhtml content (feedparser rebuilds the
    markup: `<br/>` becomes two breaks), an atom:updated or dcterms:modified inside RSS, raw markup inside
    <description>/<summary>; xml:base anywhere but on Atom content/summary, or more than one of it;
    itunes elements in Atom; media:description beside an Atom summary or content;
  - an Atom document whose titles, summaries or contents are partly typed (type="html") and partly
    not (feedparser-rs reads an untyped one as HTML; where none is typed they are retyped as text);
  - an entry with no title or no link (feedparser-rs blanks links to private addresses), an RSS item
    whose iTunes elements, authors or dates cannot be replayed from its bytes (feed_items.py), or fewer
    entries than <item>/<entry> start tags in the bytes (an entry was skipped).
Where feedparser-rs differs in a way that can be mended, it is mended here: references left in
attribute values are decoded, RSS "updated" is dc:date only (read from the item when feedparser-rs
left it out), an Atom entry does not inherit the feed's author, the base feedparser-rs guesses for
content is dropped (one xml:base on Atom content is used), media type "unknown" is no type, a relative
permalink guid is resolved against the document URL, an RSS item's iTunes elements are folded in as
feedparser folds them (feed_items.py), an empty <dc:creator/> does not take the next element's text,
and a document feedparser would read with its loose parser (not well-formed for expat: a blank line
before the XML declaration is enough) gets that parser's decoding of text (`_as_loose`).

Security: quick-xml does not read DTDs, expands no declared entity and never fetches; feedparser-rs
fetches only when given a URL string, and here it is only ever given bytes that start with '<'. The
well-formedness check runs Python's expat only on documents without a DOCTYPE (nothing to expand, nothing
external to read); the item replays only order elements with regular expressions, they parse nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from xml.parsers import expat

import feedparser_rs as _rs

from .feed_items import (
    channel_has_content,
    item_spans,
    itunes_item,
    rss_authors,
    rss_dc_date,
    rss_guid,
    unescape_xml,
)

FPDict = dict[str, object]

_ITEM_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?(?:item|entry)[\s>/]")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# The keys feed._from_feedparser_entry reads, with the raw date strings a date parser may prefer.
_ENTRY_KEYS = ("title", "title_detail", "id", "link", "summary", "summary_detail", "content",
               "published", "published_parsed", "created", "created_parsed", "updated", "updated_parsed",
               "authors", "author", "tags", "media_content", "media_thumbnail", "enclosures", "links")
# Constructs feedparser reads its own way (see the module docstring and benchmarks/feed_agreement.md), each
# with the bytes it cannot be without (a substring test first: one pattern over the whole document cost 3x)
_FEEDPARSER_ONLY = (
    (b"xhtml", re.compile(rb"type=[\"']xhtml[\"']")),
    (b":updated", re.compile(rb"<(?:atom|a|dcterms):updated[\s>]")),
    (b":modified", re.compile(rb"<(?:atom|a|dcterms):modified[\s>]")),
    *((b"<" + name, re.compile(rb"<" + name + rb">\s*<[A-Za-z]"))
      for name in (b"description", b"summary", b"content:encoded")),
)
_ELEMENT = {name: re.compile(rb"<" + name + rb"(\s[^>]*)?/?>") for name in (b"title", b"summary", b"content")}
_NOT_A_NAME = re.compile(r"\d{4}-\d\d-\d\d|[a-z]+://")
_DECLARED = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_NOT_PERMALINK = re.compile(rb"""isPermaLink\s*=\s*["']false""", re.IGNORECASE)
_EMPTY_CREATOR = re.compile(rb"<dc:creator\s*/>|<dc:creator>\s*</dc:creator>")
_CATEGORY = re.compile(rb"<category[\s>]")
_C1 = re.compile(rb"[\x80-\x9f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_SCALARS = frozenset({str, int, float, bool, bytes, time.struct_time})
_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<")


def _plain(value: object) -> object:
    """feedparser-rs's objects (TextConstruct, Person, Tag, Link, ...) as plain dicts and lists; a key
    whose value is None is left out, as feedparser has no such key."""
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    items: Callable[[], object] | None = getattr(value, "items", None)
    if items is not None and not isinstance(value, (str, bytes, time.struct_time)):
        pairs = items()
        if isinstance(pairs, list):
            return {str(k): v if type(v) in _SCALARS else _plain(v) for k, v in pairs if v is not None}
    return value


def _attr(value: object) -> object:
    """feedparser-rs leaves character references in attribute values (href="a?b=1&amp;c=2"): decode them."""
    return unescape_xml(value) if isinstance(value, str) and "&" in value else value


def _unescape_attrs(items: object, *keys: str) -> object:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                for key in keys:
                    if key in item:
                        item[key] = _attr(item[key])
    return items


def _drop_base(detail: object) -> object:
    """feedparser-rs reports the channel link as a content block's base; feedpipe resolves against the
    document URL unless the document says xml:base (which this path leaves to feedparser)."""
    if isinstance(detail, dict):
        detail.pop("base", None)
    elif isinstance(detail, list):
        for d in detail:
            _drop_base(d)
    return detail


_XML_BASE = re.compile(rb"""<([A-Za-z][\w:.-]*)\s[^>]*?xml:base\s*=\s*(["'])(.*?)\2""", re.DOTALL)


def _xml_base(body: bytes) -> tuple[str, set[str]] | bool:
    """The one absolute xml:base a document gives its Atom content and summaries, and which of the two
    carry it; False when xml:base sits elsewhere (entry, feed: feedparser resolves links against it too)
    or says several things; True when there is none."""
    if b"xml:base" not in body:
        return True
    found = [(m.group(1), m.group(3)) for m in _XML_BASE.finditer(body)]
    if len(found) != body.count(b"xml:base") or any(name not in (b"content", b"summary") for name, _ in found):
        return False
    values = {value for _, value in found}
    if len(values) != 1:
        return False
    base = _attr(values.pop().decode("utf-8", "replace"))
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        return False
    return base, {"content" if name == b"content" else "summary_detail" for name, _ in found}


def _set_base(detail: object, base: str) -> None:
    if isinstance(detail, dict):
        detail["base"] = base
    elif isinstance(detail, list):
        for d in detail:
            _set_base(d, base)


def _utf8(body: bytes, declared: bytes) -> bool:
    """Only documents both parsers decode alike take the fast path: UTF-8, or declared Latin-1 without a
    byte in 0x80-0x9f (feedparser maps those to windows-1252's characters). feedparser's guesses for the
    rest (a Latin-1 feed with no declaration is read as windows-1252) are its own."""
    name = declared.lower()
    if name in (b"iso-8859-1", b"latin-1", b"latin1", b"iso8859-1"):
        return _C1.search(body) is None
    if name not in (b"utf-8", b"utf8"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _typing(body: bytes, name: bytes) -> tuple[int, int]:
    """How many <name> elements of the document carry a type attribute, and how many do not."""
    typed = untyped = 0
    for match in _ELEMENT[name].finditer(body):
        attrs = match.group(1) or b""
        if b"type=" in attrs:
            typed += 1
        else:
            untyped += 1
    return typed, untyped


def _as_text(detail: object) -> None:
    if isinstance(detail, dict) and detail.get("type") == "text/html":
        detail["type"] = "text/plain"
    elif isinstance(detail, list):
        for d in detail:
            _as_text(d)


def _charset_differs(content_type: str | None, encoding: str) -> bool:
    match = _CHARSET.search(content_type or "")
    if not match:
        return False
    norm = {"latin-1": "iso-8859-1", "latin1": "iso-8859-1", "utf8": "utf-8", "us-ascii": "utf-8",
            "ascii": "utf-8"}
    header = match.group(1).lower()
    return norm.get(header, header) != norm.get(encoding.lower(), encoding.lower())


def _well_formed(body: bytes) -> bool:
    """Whether feedparser reads the document with its strict (expat) parser; else it uses its loose one
    (sgmllib), whose text differs (`_as_loose`). Only ever given documents without a DOCTYPE: with no
    DTD there is no entity to expand, and expat reads nothing from outside."""
    if b"<!DOCTYPE" in body[:4096].upper():
        return True
    parser = expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        return False
    except ValueError:  # an encoding expat does not read (never on the guarded path: UTF-8 only)
        return True
    return True


def _loose_text(value: object) -> object:
    """A text value as feedparser's loose parser gives it: it keeps the document's escaped form, then
    decodes &lt; &gt; &amp; &quot; &apos; one after the other (so "&amp;quot;" ends up as a quote)."""
    if not isinstance(value, str) or "&" not in value:
        return value
    raw = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ref, char in (("&#60;", "&lt;"), ("&#x3c;", "&lt;"), ("&#x3C;", "&lt;"), ("&#62;", "&gt;"),
                      ("&#x3e;", "&gt;"), ("&#x3E;", "&gt;"), ("&#38;", "&amp;"), ("&#x26;", "&amp;"),
                      ("&#34;", "&quot;"), ("&#x22;", "&quot;"), ("&#39;", "&apos;"), ("&#x27;", "&apos;"),
                      ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"), ("&quot;", '"'), ("&apos;", "'"),
                      ("&#x2f;", "/"), ("&#x2F;", "/")):
        raw = raw.replace(ref, char)
    return raw


def _loose_raw(value: object) -> object:
    """A value the loose parser leaves escaped (categories, keywords, author names)."""
    if not isinstance(value, str):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _as_loose(e: FPDict, *, atom: bool) -> None:
    """Turn feedparser-rs's text into what feedparser's loose parser stores (see `_loose_text`); an
    Atom category's term is an attribute, which it decodes."""
    for key in ("title", "summary"):
        e[key] = _loose_text(e[key])
    for key in ("title_detail", "summary_detail"):
        detail = e[key]
        if isinstance(detail, dict) and "value" in detail:
            detail["value"] = _loose_text(detail["value"])
    for block in e["content"] if isinstance(e["content"], list) else ():
        if isinstance(block, dict) and "value" in block:
            block["value"] = _loose_text(block["value"])
    for tag in e["tags"] if isinstance(e["tags"], list) and not atom else ():
        if isinstance(tag, dict):
            tag["term"], tag["label"] = _loose_raw(tag.get("term")), _loose_raw(tag.get("label"))
    for person in e["authors"] if isinstance(e["authors"], list) else ():
        if isinstance(person, dict):
            person["name"] = _loose_raw(person.get("name"))
    e["author"] = _loose_raw(e["author"])


def _looks_like_html(text: str) -> bool:
    """feedparser's test for "this text/plain is really HTML" (RSS content and itunes:summary)."""
    from feedparser.mixin import _FeedParserMixin  # noqa: PLC0415 -- only for feeds with itunes elements

    return bool(_FeedParserMixin.looks_like_html(text))


def _same_tags(item: bytes, e: FPDict) -> bool:
    """Whether feedparser-rs read as many categories as the item has (none taken as an author)."""
    tags = e["tags"]
    return len(tags if isinstance(tags, list) else []) == len(_CATEGORY.findall(item))


def _permalink(base_url: str, guid: str) -> str:
    """A relative permalink guid resolved as feedparser does, against the document's URL (an HTTP one:
    feedparser is given it as Content-Location)."""
    from feedparser.urls import make_safe_absolute_uri  # noqa: PLC0415 -- rare: relative permalink guids

    base = base_url if base_url.startswith(("http://", "https://")) else ""
    return str(make_safe_absolute_uri(base, guid))


def _feedparser_only(body: bytes) -> bool:
    return any(needle in body and pattern.search(body) for needle, pattern in _FEEDPARSER_ONLY)


def fast_parse(body: bytes, content_type: str | None = None, *, guarded: bool = True,
               base_url: str = "") -> FPDict | None:
    """feedparser's result shape ({"entries", "feed", "version", "bozo"}) or None: use feedparser.

    `guarded=False` (for the agreement report only) skips every check but "the parser read something".
    """
    if not _START.match(body):
        return None
    if guarded and (b"<!DOCTYPE" in body[:4096].upper() or _feedparser_only(body)):
        return None
    declared = _DECLARED.match(body)
    if guarded and not _utf8(body, declared.group(1) if declared else b"utf-8"):
        return None
    try:
        result = _rs.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except Exception:  # any failure of the fast parser is feedparser's to judge
        return None
    if not result.entries:
        return None
    if guarded and (result.bozo or not result.version
                    or _charset_differs(content_type, str(result.encoding or "utf-8"))
                    or len(result.entries) < len(_ITEM_TAG.findall(body))):
        return None
    entries: list[FPDict] = []
    atom = str(result.version).startswith("atom")
    # feedparser-rs types an Atom text construct without a type attribute as HTML; Atom says text.
    # Per element (title, summary, content): none typed -> all text; all typed -> as read; mixed -> feedparser.
    as_text: set[str] = set()
    if atom:
        for name, key in ((b"title", "title_detail"), (b"summary", "summary_detail"), (b"content", "content")):
            typed, untyped = _typing(body, name)
            if typed and untyped:
                if guarded:
                    return None
            elif untyped:
                as_text.add(key)
    if guarded and atom and b"<itunes:" in body:  # itunes in Atom: feedparser's own reading
        return None
    # media:description is a second description to feedparser (the summary, or content after one): the
    # same for both only in an Atom document with no summary or content of its own
    if guarded and b"<media:description" in body and atom and (b"<summary" in body or b"<content" in body):
        return None
    spans = None if atom else item_spans(body)  # item i's bytes, for what is read from them
    if spans is not None and len(spans) != len(result.entries):
        spans = None
    if guarded and not atom and spans is None and (b"<itunes:" in body or b"<media:description" in body):
        return None
    xml_base = _xml_base(body)
    if guarded and xml_base is False:
        return None
    feed_authors = _plain(result.feed.get("authors")) if atom else None
    loose = not _well_formed(body)
    own_updated = body.count(b"<updated") - (1 if result.feed.get("updated") else 0) >= len(result.entries)
    entry_author_tags = body.count(b"<author") - (1 if feed_authors else 0)
    any_not_permalink = _NOT_PERMALINK.search(body) is not None
    item_text = [body[a:b] for a, b in spans] if spans is not None else []
    for index, entry in enumerate(result.entries):
        e = {key: _plain(entry.get(key)) for key in _ENTRY_KEYS}
        _unescape_attrs(e["tags"], "term", "label", "scheme")
        if spans is not None and index < len(spans):
            item = item_text[index]
            replayed = (b"<itunes:" not in item and b"<media:description" not in item) or itunes_item(
                item, e, entry.get("itunes"), _looks_like_html,
                has_content=index == 0 and channel_has_content(body[:spans[0][0]]))
            if guarded and not replayed:
                return None
        _unescape_attrs(e["links"], "href")
        _unescape_attrs(e["enclosures"], "href")
        _unescape_attrs(e["media_content"], "url")
        for media in e["media_content"] if isinstance(e["media_content"], list) else ():
            if isinstance(media, dict) and media.get("type") == "unknown":  # feedparser: no type at all
                del media["type"]
        _unescape_attrs(e["media_thumbnail"], "url")
        if atom:
            e["link"] = _attr(e["link"])
        for key in ("title_detail", "summary_detail", "content"):
            _drop_base(e[key])
            if isinstance(xml_base, tuple) and key in xml_base[1]:
                _set_base(e[key], xml_base[0])
            if key in as_text:
                _as_text(e[key])
        # feedparser takes a guid as a permalink unless it says isPermaLink="false" (feedparser-rs: unless
        # it is not a URL)
        if index < len(item_text):
            permalink = not (any_not_permalink and _NOT_PERMALINK.search(item_text[index]))
        else:
            permalink = bool(entry.get("guidislink")) or not any_not_permalink
        if not atom and permalink and isinstance(e["id"], str) and e["id"] and not _SCHEME.match(e["id"]):
            e["id"] = _permalink(base_url, e["id"])  # feedparser resolves a permalink guid like a link
        if not atom:  # feedparser's RSS "updated" is dc:date; feedparser-rs copies pubDate there
            e["updated"], e["updated_parsed"] = entry.get("dc_date"), entry.get("dc_date_parsed")
            # an empty <dc:creator/> makes feedparser-rs take the next element's text as the author
            item = item_text[index] if index < len(item_text) else body
            if (isinstance(e["author"], str) and _NOT_A_NAME.match(e["author"])) or _EMPTY_CREATOR.search(item):
                if item is body or not rss_authors(item, e) or not _same_tags(item, e):
                    if guarded:
                        return None
                elif e["id"] is None:  # the guid was read as the author
                    e["id"] = rss_guid(item)
            if e["updated"] is None and index < len(item_text) and b"<dc:date" in item_text[index]:
                dc_date = rss_dc_date(item_text[index])
                if dc_date is None and guarded:
                    return None
                e["updated"], e["updated_parsed"] = dc_date or (None, None)
        elif not own_updated and e["updated"] == e["published"]:  # feedparser-rs copies <published>
            e["updated"] = e["updated_parsed"] = None
        if atom and feed_authors and e["authors"] == feed_authors and entry_author_tags < len(result.entries):
            e["authors"], e["author"] = [], None  # feedparser does not copy the feed's author into entries
        # feedparser-rs blanks links to private addresses (localhost, 10.x): feedparser keeps them
        if guarded and not (e["title"] and e["link"]):
            return None
        if loose:
            _as_loose(e, atom=atom)
        entries.append({k: v for k, v in e.items() if v is not None})
    language = result.feed.get("language")
    return {"entries": entries, "version": str(result.version), "bozo": False,
            "feed": {"language": language} if isinstance(language, str) else {}}
