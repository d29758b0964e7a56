"""Bytes + location → Articles. Parsers take bytes and never fetch; `read_document` picks the right one.

`read_document` is the one path from bytes to articles: ingestion and `feedpipe tag` both call it, so
a file or URL is sniffed and extracted the same way wherever it is read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Article

from .feed import parse_feed
from .jsonl import parse_jsonl
from .sniff import KINDS, Kind, serves_feed, sniff_kind
from .text import parse_text

log = logging.getLogger(__name__)

__all__ = ["KINDS", "Extraction", "Kind", "extract", "parse_feed", "parse_jsonl", "parse_page", "parse_text",
           "read_document", "sniff_kind"]


def parse_page(body: bytes, url: str, *, source: str) -> Article:
    """`extract.page.parse_page`, imported with the first page read: trafilatura and lxml cost a run
    of feeds alone 0.03 s of imports for nothing."""
    from .page import parse_page as read_page  # noqa: PLC0415 -- on first use

    return read_page(body, url, source=source)


@dataclass(frozen=True, kw_only=True)
class Extraction:
    """What one document held: its articles, the extractor that read them, and what happened on the way."""

    articles: list[Article]
    kind: Kind  # the extractor that ran: feed, page, text or jsonl
    errors: list[str] = field(default_factory=list)  # items that could not be read; the others still count
    notes: list[str] = field(default_factory=list)  # for the operator: the source is not what it says it is


def read_document(
    body: bytes,
    location: str,
    *,
    source: str,
    content_type: str | None = None,
    expected: str | None = None,
) -> Extraction:
    """Sniff and extract one document; ExtractError with a readable message when nothing can be read.

    `expected` is what the source was configured as ("feed", "page", "text", "jsonl"; None: sniff).
    A configured page that serves a feed is read as the feed it is, with a note telling the operator
    to set `type = "feed"`; every other expectation is obeyed (a feed that is not one fails as a feed).
    """
    if not body or not body.strip():
        raise ExtractError(f"{location}: empty document", "the server or file returned no content")
    if expected is not None and expected not in KINDS:
        raise ExtractError(f"{location}: unknown kind {expected!r}", f"use one of {', '.join(KINDS)}")
    notes: list[str] = []
    kind: Kind
    if expected == "page" and serves_feed(body):
        kind = "feed"
        notes.append(f'source {source!r}: {location} is configured as a page but serves a feed; it was read '
                     f'as a feed (set type = "feed" for this source in the config)')
    elif expected is not None:
        kind = next(k for k in KINDS if k == expected)
    else:
        kind = sniff_kind(body, location, content_type)
    log.debug("%s: extracting as %s", location, kind)
    if kind == "feed":
        return Extraction(articles=parse_feed(body, location, source=source, content_type=content_type),
                          kind=kind, notes=notes)
    if kind == "page":
        return Extraction(articles=[parse_page(body, location, source=source)], kind=kind)
    if kind == "jsonl":
        articles, line_errors = parse_jsonl(body, location, source=source)
        return Extraction(articles=articles, kind=kind, errors=[f"{location}: {e}" for e in line_errors])
    return Extraction(articles=[parse_text(body, location, source=source)], kind=kind)


def extract(
    body: bytes,
    location: str,
    *,
    source: str,
    content_type: str | None = None,
    kind_hint: str | None = None,
) -> list[Article]:
    """Articles in `body` (read from `location`), by `read_document`; ExtractError when there are none.

    JSON Lines line errors and notes are logged; call `read_document` to get them back.
    """
    found = read_document(body, location, source=source, content_type=content_type, expected=kind_hint)
    for note in found.notes:
        log.warning("%s", note)
    for err in found.errors:
        log.warning("%s", err)
    if not found.articles and found.errors:
        first = found.errors[0].removeprefix(f"{location}: ")
        raise ExtractError(f"{location}: no usable lines ({first})",
                           "each line must be a JSON object with at least url and title")
    return found.articles
