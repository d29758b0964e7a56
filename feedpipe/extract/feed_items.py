"""What feedparser makes of an RSS item's iTunes elements, for the fast path (extract/feed_fast.py).

feedparser-rs reads `<itunes:*>` into `entry.itunes` and leaves the item's summary, content, authors and
tags as the plain RSS elements say. feedparser folds them in, in document order:
  - `<itunes:summary>` is a second summary: the summary when none came before (or content has started),
    else the item's content (typed text/plain unless it looks like HTML, feedparser's own test);
  - a `<description>` after a summary while no content has started becomes content too;
  - `<content:encoded>` is content, and the summary when there is none yet;
  - `<itunes:author>` is one more author, after `<author>` and `<dc:creator>` in document order;
  - `<itunes:keywords>` (split at commas) and `<itunes:category text=...>` are tags, in document order
    with `<category>`, each (term, scheme, label) once;
  - `<itunes:image href=...>` is the item's image.
`itunes_item` replays that over the item's own bytes (`item_spans` cuts the document at its items) with
the values feedparser-rs read, or says None when the item holds anything it does not replay (then
feedparser reads the whole feed). Never parses XML itself: quick-xml did; this only orders elements.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

FPDict = dict[str, object]
ITUNES = "http://www.itunes.com/"

_ITEM_START = re.compile(rb"<item[\s>]")
_ITEM_END = re.compile(rb"</item\s*>")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_ELEMENT = re.compile(rb"<(description|media:description|content:encoded|itunes:summary|itunes:author|author|dc:creator|category"
                      rb"|itunes:keywords|itunes:category|itunes:image)(?=[\s/>])([^>]*)>")
# Elements whose effect on summary, content, authors or tags this module does not replay.
_NOT_REPLAYED = re.compile(rb"<!--|<(?:dc:description|summary|abstract|xhtml:body|body"
                           rb"|fullitem|dc:subject|dc:author|managingEditor|keywords|itunes:owner)[\s/>]")
_EMAIL = re.compile(r"[^\s@()<>]+@[^\s@()<>]+")  # a bare address: feedparser keeps it whole
_TAGS = re.compile(rb"<[^>]*>")
_TEXT_ATTR = re.compile(rb"""\btext\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_XML_REF = re.compile(r"&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_XML_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def item_spans(body: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of every `<item>...</item>` of an RSS document, or None when they do not pair up."""
    spans = []
    pos = 0
    while (start := _ITEM_START.search(body, pos)) is not None:
        end = _ITEM_END.search(body, start.end())
        nxt = _ITEM_START.search(body, start.end())
        if end is None or (nxt is not None and nxt.start() < end.start()):
            return None  # an unclosed or nested item
        spans.append((start.start(), end.end()))
        pos = end.end()
    return spans


def unescape_xml(text: str) -> str:
    """The five predefined XML entities and numeric references decoded, nothing else (no DTD's)."""
    return _XML_REF.sub(xml_ref, text)


def xml_ref(match: re.Match[str]) -> str:
    """The character an XML reference (`&amp;`, `&#233;`, `&#xE9;`) stands for; an unreadable one as is."""
    ref = match.group(1)
    if ref[0] != "#":
        return _XML_NAMED[ref]
    try:
        return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
    except (ValueError, OverflowError):
        return match.group(0)


def _text(raw: bytes) -> str | None:
    """An element's text: CDATA kept as written, references decoded; None when it holds markup (or is
    not UTF-8: a Latin-1 document's items are not replayed)."""
    try:
        return _text_of(raw)
    except UnicodeDecodeError:
        return None


def _text_of(raw: bytes) -> str | None:
    parts = []
    pos = 0
    for m in _CDATA.finditer(raw):
        parts.append(_XML_REF.sub(xml_ref, raw[pos:m.start()].decode("utf-8")))
        parts.append(m.group(0)[9:-3].decode("utf-8"))
        pos = m.end()
    tail = raw[pos:].decode("utf-8")
    if "<" in tail or any("<" in p for p in parts[::2]):
        return None
    parts.append(_XML_REF.sub(xml_ref, tail))
    return "".join(parts).strip()


def _elements(item: bytes) -> list[tuple[str, bytes, bytes]] | None:
    """(name, attributes, inner bytes) of the replayed elements of one item, in document order."""
    masked = _CDATA.sub(lambda m: b"x" * len(m.group(0)), item)  # no element is found inside CDATA
    out = []
    for m in _ELEMENT.finditer(masked):
        name, attrs = m.group(1).decode(), item[m.start(2):m.end(2)]
        if attrs.rstrip().endswith(b"/"):
            out.append((name, attrs, b""))
            continue
        close = masked.find(b"</" + m.group(1) + b">", m.end())
        if close < 0:
            return None
        out.append((name, attrs, item[m.end():close]))
    return out


_CHANNEL_TEXT = re.compile(rb"<(description|content:encoded|itunes:summary)[\s>]")
_IMAGE = re.compile(rb"<image[\s>].*?</image\s*>", re.DOTALL)


def channel_has_content(head: bytes) -> bool:
    """Whether feedparser enters the first item believing content has started: its flag is reset at
    each item's end only, so a channel's second summary (read as content) carries into the first item."""
    head = _IMAGE.sub(b"", _CDATA.sub(b"", head))
    summary = has_content = False
    for m in _CHANNEL_TEXT.finditer(head):
        if m.group(1) == b"content:encoded" or (summary and not has_content):
            has_content = True
        summary = True
    return has_content


def itunes_item(item: bytes, e: FPDict, itunes: object, looks_like_html: Callable[[str], bool], *,
                has_content: bool = False) -> bool:
    """Fold one item's iTunes elements into `e` (the entry as feedparser-rs read it, in feedparser's
    shape) the way feedparser would; False when the item holds something this does not replay.
    `has_content`: feedparser's "content has started" as the item begins (`channel_has_content`)."""
    if _NOT_REPLAYED.search(item):
        return False
    found = _elements(item)
    if found is None:
        return False
    names = [n for n, _, _ in found]
    get: Callable[[str], object] = getattr(itunes, "get", lambda _k: None)
    if any(names.count(n) > 1 for n in (*_SUMMARY_LIKE, "content:encoded", "itunes:image")):
        return False
    return (_texts(e, found, get, looks_like_html, has_content) and _authors(e, found) and _tags(e, found)
            and _image(e, names, get))


_TYPE_ATTR = re.compile(rb"""\btype\s*=\s*(["'])(.*?)\1""")
_SUMMARY_LIKE = ("description", "media:description", "itunes:summary")


def _texts(e: FPDict, found: list[tuple[str, bytes, bytes]], get: Callable[[str], object],
           looks_like_html: Callable[[str], bool], has_content: bool) -> bool:
    """feedparser's summary and content from the item's description-like elements, in document order:
    the first is the summary; a later one while no content has started is content; content:encoded is
    content (and the summary when there is none yet); a later one after content replaces the summary."""
    detail = e.get("summary_detail")
    language = detail.get("language") if isinstance(detail, dict) else None
    summary_value: str | None = None
    summary_detail: FPDict | None = None
    contents: list[FPDict] = []
    for name, attrs, inner in found:
        if name == "content:encoded":
            content = e.get("content")
            if not (isinstance(content, list) and len(content) == 1 and isinstance(content[0], dict)):
                return False
            value = str(content[0].get("value") or "")
            has_content = True
            contents.append({"type": "text/html", "language": language, "value": value})
            summary_value = value if summary_value is None else summary_value
            continue
        if name not in _SUMMARY_LIKE:
            continue
        given = _TYPE_ATTR.search(attrs)
        if name == "itunes:summary":
            summary = get("summary")
            text: str | None = summary if isinstance(summary, str) else ""
        else:  # its own text: feedparser-rs may have taken another element as the summary
            text = _text(inner)
        if text is None or (given and name == "description"):
            return False
        declared = given.group(2).decode("ascii", "replace").lower() if given else ""
        plain = "text/html" if looks_like_html(text) else "text/plain"
        if summary_value is not None and not has_content:  # a second summary is content (typed as text)
            has_content = True
            kind = "text/html" if declared == "html" else plain
            contents.append({"type": kind, "language": language, "value": text})
            continue
        if summary_value is not None and name == "media:description":
            return False  # deeper than the summary: feedparser replaces its detail but not its value
        kind = "text/html" if declared == "html" or (not declared and name == "description") else plain
        summary_value, summary_detail = text, {"type": kind, "language": language, "value": text}
    e["summary"], e["summary_detail"], e["content"] = summary_value, summary_detail, contents or None
    return True


def _authors(e: FPDict, found: list[tuple[str, bytes, bytes]]) -> bool:
    """feedparser's authors: one per <author>, <dc:creator> and <itunes:author>, in document order (an
    empty one is an empty author)."""
    names: list[str] = []
    for name, _, inner in found:
        if name in ("author", "dc:creator", "itunes:author"):
            text = _text(inner)
            if text is None or ("@" in text and not _EMAIL.fullmatch(text)):
                return False  # "address (name)": feedparser splits the name out its own way
            names.append(text)
    if not names:
        return True
    e["authors"] = [{"name": n} if n else {} for n in names]
    e["author"] = next((n for n in reversed(names) if n), None)
    return True


def rss_authors(item: bytes, e: FPDict) -> bool:
    """Replace the entry's authors by what feedparser reads from the item's bytes (feedparser-rs takes
    the next element's text for an empty <dc:creator/>); False when they cannot be read here."""
    if b"<!--" in item:
        return False
    found = _elements(item)
    return found is not None and _authors(e, found)


def _tags(e: FPDict, found: list[tuple[str, bytes, bytes]]) -> bool:
    read = [t for t in e.get("tags") or [] if isinstance(t, dict)]  # type: ignore[attr-defined]
    if sum(1 for n, _, _ in found if n == "category") != len(read):
        return False
    given = iter(read)
    tags: list[FPDict] = []

    def add(term: object, scheme: object, label: object) -> None:
        tag = {"term": term, "scheme": scheme, "label": label}
        if (term or scheme or label) and tag not in tags:
            tags.append(tag)

    for name, attrs, inner in found:
        if name == "category":
            t = next(given)
            add(t.get("term"), t.get("scheme"), t.get("label"))
        elif name == "itunes:keywords":
            text = _text(inner)
            if text is None:
                return False
            for term in text.split(","):
                if term.strip():
                    add(term.strip(), ITUNES, None)
        elif name == "itunes:category":
            attr = _TEXT_ATTR.search(attrs)
            if _TAGS.sub(b"", inner).strip():
                return False  # text inside itunes:category: feedparser makes it a tag of its own
            category = _text(attr.group(2)) if attr else None
            if attr and category is None:
                return False
            add(category, ITUNES, None)
    e["tags"] = tags
    return True


def _image(e: FPDict, names: list[str], get: Callable[[str], object]) -> bool:
    if "itunes:image" not in names:
        return True
    href = get("image")
    if not isinstance(href, str) or not href:
        return False
    e["image"] = {"href": _XML_REF.sub(xml_ref, href)}
    return True


_DC_DATE = re.compile(rb"<dc:date>([^<]*)</dc:date>")
_GUID = re.compile(rb"<guid(\s[^>]*)?>(.*?)</guid\s*>", re.DOTALL)


def rss_dc_date(item: bytes) -> tuple[str, time.struct_time] | None:
    """The item's <dc:date> (feedparser's RSS "updated") when feedparser-rs left it out (it does when
    the date equals <pubDate>): the text and its UTC time, or None when there is none to read."""
    m = _DC_DATE.search(item)
    if m is None:
        return None
    try:
        text = m.group(1).decode("utf-8").strip()
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # UnicodeDecodeError included
        return None
    if when.tzinfo is None:
        return None
    return text, when.astimezone(UTC).timetuple()


def rss_guid(item: bytes) -> str | None:
    """The item's <guid> text (feedparser-rs loses it after an empty <dc:creator/>)."""
    m = _GUID.search(_CDATA.sub(lambda c: b"x" * len(c.group(0)), item))
    return _text(item[m.start(2):m.end(2)]) if m else None
