"""Which extractor reads a document: decided from the bytes first, then the content type, then the name.

The one sniffing rule for ingestion and `feedpipe tag`; `serves_feed` also lets a source configured as
a page that actually serves a feed be read as the feed it is.
"""

from __future__ import annotations

import re
from typing import Literal

from .feed import looks_like_json_feed

Kind = Literal["feed", "jsonl", "page", "text"]
KINDS: tuple[Kind, ...] = ("feed", "jsonl", "page", "text")

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
               "application/xml", "text/xml")
_FEED_EXT = (".rss", ".atom", ".xml", ".rdf", ".feed")
_PROLOG = re.compile(
    rb"^(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype\s+(?!html)[^\[>]*(?:\[.*?\])?\s*>)*", re.IGNORECASE | re.DOTALL
)
# A feed wrapped in an HTML document (it happens); feedparser still reads it.
_EMBEDDED_FEED = re.compile(
    rb"<feed\s[^>]*xmlns=[\"']http://(?:www\.w3\.org/2005/Atom|purl\.org/atom/ns#)|<rss[\s>]|<rdf:RDF\b"
)
_ROOT = re.compile(rb"<(?:([\w.-]+):)?([\w.-]+)")
_FEED_ROOTS = {b"rss", b"feed", b"rdf", b"channel", b"rss:rss"}
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
)

def _head_bytes(body: bytes) -> bytes:
    """The first 16 KiB as UTF-8-compatible bytes (UTF-16/32 documents decoded) for sniffing."""
    head = body[:16384]
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return head.decode(enc, errors="ignore").lstrip("\ufeff").encode("utf-8")
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def _root_element(head: bytes) -> bytes | None:
    """Local name of the first element after the XML prolog (comments, PIs, DOCTYPE), lower-cased."""
    m = _PROLOG.match(head)
    rest = head[m.end():] if m else head
    if rest[:9].lower() == b"<!doctype":
        return b"html"
    r = _ROOT.match(rest)
    return r.group(2).lower() if r else None


def sniff_kind(body: bytes, location: str, content_type: str | None = None) -> Kind:
    """Decide the format from the bytes first, then the content type, then the file extension."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    path = location.lower().split("?")[0].split("#")[0]
    head = _head_bytes(body).lstrip(b" \t\r\n")
    if path.endswith((".jsonl", ".ndjson")) or ctype in ("application/x-ndjson", "application/jsonl"):
        return "jsonl"
    if head.startswith(b"{"):
        if looks_like_json_feed(body):
            return "feed"
        first = head.split(b"\n", 1)[0].strip()
        return "jsonl" if first.endswith(b"}") else "feed"
    if head.startswith(b"<"):
        root = _root_element(head)
        if root in _FEED_ROOTS:
            return "feed"
        if root in (b"html", b"head", b"body") or ctype in ("text/html", "application/xhtml+xml"):
            return "feed" if _EMBEDDED_FEED.search(head) else "page"
        if root is not None and not path.endswith((".html", ".htm")):
            return "feed"  # some other XML: the feed parser says what is wrong with it
    if ctype in _FEED_TYPES or path.endswith(_FEED_EXT):
        return "feed"
    if ctype in ("text/html", "application/xhtml+xml") or path.endswith((".html", ".htm")):
        return "page"
    return "text"




def serves_feed(body: bytes) -> bool:
    """True when the bytes are plainly a feed (an RSS/Atom/RDF root, a JSON Feed, or a feed wrapped in
    HTML), whatever the source was configured as."""
    head = _head_bytes(body).lstrip(b" \t\r\n")
    if head.startswith(b"{"):
        return looks_like_json_feed(body)
    if not head.startswith(b"<"):
        return False
    root = _root_element(head)
    return root in _FEED_ROOTS or (root in (b"html", b"head", b"body") and bool(_EMBEDDED_FEED.search(head)))
