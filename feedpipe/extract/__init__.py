"""Bytes + location → Articles. Parsers take bytes and never fetch; `extract` picks the right one."""

from __future__ import annotations

import logging
import re
from typing import Literal

from ..errors import ExtractError
from ..model import Article
from .feed import looks_like_json_feed, parse_feed
from .jsonl import parse_jsonl
from .page import parse_page
from .text import parse_text

log = logging.getLogger(__name__)

Kind = Literal["feed", "jsonl", "page", "text"]
KINDS: tuple[str, ...] = ("feed", "jsonl", "page", "text")

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
               "application/xml", "text/xml")
_FEED_EXT = (".rss", ".atom", ".xml", ".rdf", ".feed")
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF|channel)\b", re.IGNORECASE)
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html|head|body|div|p|article)\b", re.IGNORECASE)

__all__ = ["KINDS", "extract", "parse_feed", "parse_jsonl", "parse_page", "parse_text", "sniff_kind"]


def _head_bytes(body: bytes) -> bytes:
    """The first KiB as ASCII-ish bytes (UTF-16/32 feeds decoded) for sniffing."""
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 1 and head[1:2] == b"\x00"):
        try:
            return head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
        except UnicodeError:
            return head
    if head[:1] == b"\x00":
        return head.replace(b"\x00", b"")
    return head


def sniff_kind(body: bytes, location: str, content_type: str | None = None) -> Kind:
    """Decide the format from the bytes first, then the content type and the file extension."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    path = location.lower().split("?")[0].split("#")[0]
    head = _head_bytes(body).lstrip(b"\xef\xbb\xbf \t\r\n")
    if path.endswith((".jsonl", ".ndjson")) or ctype in ("application/x-ndjson", "application/jsonl"):
        return "jsonl"
    if head.startswith(b"{"):
        if looks_like_json_feed(body):
            return "feed"
        first = head.split(b"\n", 1)[0].strip()
        return "jsonl" if first.endswith(b"}") else "feed"
    if head.startswith(b"<"):
        if _FEED_ROOT.search(head):
            return "feed"
        if _HTML_ROOT.search(head) or ctype in ("text/html", "application/xhtml+xml"):
            return "page"
        return "feed"  # some other XML: let the feed parser say what is wrong
    if ctype in _FEED_TYPES or path.endswith(_FEED_EXT):
        return "feed"
    if ctype == "text/html" or path.endswith((".html", ".htm")):
        return "page"
    return "text"


def extract(
    body: bytes,
    location: str,
    *,
    source: str,
    content_type: str | None = None,
    kind_hint: str | None = None,
) -> list[Article]:
    """Articles in `body` (read from `location`); ExtractError with a readable message when there are none.

    `kind_hint` ("feed", "page", "text", "jsonl") skips sniffing. JSON Lines line errors are logged;
    call `parse_jsonl` directly to get them back.
    """
    if not body or not body.strip():
        raise ExtractError(f"{location}: empty document", "the server or file returned no content")
    if kind_hint is not None and kind_hint not in KINDS:
        raise ExtractError(f"{location}: unknown kind {kind_hint!r}", f"use one of {', '.join(KINDS)}")
    kind = kind_hint or sniff_kind(body, location, content_type)
    log.debug("%s: extracting as %s", location, kind)
    if kind == "feed":
        return parse_feed(body, location, source=source, content_type=content_type)
    if kind == "page":
        return [parse_page(body, location, source=source)]
    if kind == "jsonl":
        articles, errors = parse_jsonl(body, location, source=source)
        for err in errors:
            log.warning("%s: %s", location, err)
        if not articles and errors:
            raise ExtractError(f"{location}: no usable lines ({errors[0]})",
                               "each line must be a JSON object with at least url and title")
        return articles
    return [parse_text(body, location, source=source)]
