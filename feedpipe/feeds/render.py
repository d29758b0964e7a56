"""Articles + a feed's spec + settings → RSS 2.0 and Atom 1.0 (feedgen), and all three formats at once.

Pure: no store, no disk, no clock. The same articles give the same bytes: a feed's `updated`
(and RSS `lastBuildDate`) is its newest entry's date, never the build time.

Text stays text: Atom writes titles and summaries as `type="text"` (its default); RSS, whose
`<description>` readers render as HTML, carries the summary (and the channel's subtitle) HTML-escaped,
and a title escaped too when it holds markup or an entity (readers such as feedparser then read the
title as HTML); authors and categories are read as plain text and go in as they are. Every
link, feed-level or per entry, passes the one safe-URL rule or is left out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from feedgen.feed import FeedGenerator
from lxml import etree

from feedpipe import __version__
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.core.urls import safe_url
from feedpipe.feeds.entries import EPOCH, Entry, EntryCache, prepare_entries, rendered, utc
from feedpipe.feeds.fragments import atom_entry, rss_item, rss_text
from feedpipe.feeds.jsonfeed import json_bytes
from feedpipe.feeds.specs import MEDIA_TYPES, FeedSpec, feed_id, feed_url

GENERATOR_URI = "https://github.com/feedpipe/feedpipe"

_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_RSS_END = b"  </channel>\n</rss>\n"
_ATOM_END = b"</feed>\n"


def _links(*links: dict[str, str]) -> list[dict[str, str]]:
    """Feed-level links whose href passes the safe-URL rule (the others are left out)."""
    return [link | {"href": href} for link in links if (href := safe_url(link["href"]))]


def feed_generator(spec: FeedSpec, entries: list[Entry], settings: FeedSettings) -> FeedGenerator:
    """One FeedGenerator for both XML formats: the feed's own fields (its `updated` is the newest
    entry's). The entries are not added to it: each entry's XML is written once (`feeds.fragments`)
    and put in every feed it belongs to."""
    fg = FeedGenerator()
    fg.id(feed_id(spec, settings))
    fg.title(xml_safe(spec.title))
    fg.subtitle(xml_safe(spec.subtitle) or xml_safe(spec.title))
    fg.author({"name": xml_safe(settings.author or settings.title)})
    fg.language(settings.language)
    fg.generator(xml_safe(settings.generator), version=__version__, uri=GENERATOR_URI)
    fg.ttl(settings.ttl)
    fg.updated(max((e.updated for e in entries), default=utc(EPOCH)))
    return fg


def _with_entries(head: bytes, end: bytes, fragments: list[bytes]) -> bytes:
    if not head.endswith(end):
        raise RuntimeError(f"the feed's head does not end with {end!r}")
    return b"".join((head[: -len(end)], *fragments, end))


def atom_bytes(fg: FeedGenerator, entries: list[Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    links = _links(
        {"href": settings.public_url, "rel": "alternate", "type": "text/html"},
        {"href": feed_url(spec, "atom", settings), "rel": "self", "type": MEDIA_TYPES["atom"]},
        *([{"href": settings.websub_hub, "rel": "hub"}] if settings.websub_hub else []),
    )
    fg.link(links, replace=True)
    head = etree.tostring(fg._create_atom()[1], pretty_print=True, xml_declaration=True,  # feedgen 1.x (pinned < 2)
                          encoding="UTF-8")
    return _with_entries(head, _ATOM_END, rendered(entries, "atom_xml", lambda e: atom_entry(e, settings)))


def rss_bytes(fg: FeedGenerator, entries: list[Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    # feedgen's RSS <link> is the last link given; the hub link is added below.
    fg.link(
        _links(
            {"href": feed_url(spec, "rss", settings), "rel": "self", "type": MEDIA_TYPES["rss"]},
            {"href": settings.public_url, "rel": "alternate"},
        ),
        replace=True,
    )
    old_root: etree._Element = fg._create_rss()[0]  # feedgen 1.x (pinned < 2)
    # feedgen's prefixes (atom, content) plus dc; RSS 2.0 elements are in no namespace, so no default one.
    nsmap = {prefix: uri for prefix, uri in old_root.nsmap.items() if prefix} | {"dc": _DC_NS}
    root = etree.Element("rss", nsmap=nsmap, version="2.0")
    channel = old_root[0]
    root.append(channel)
    _rss_channel_text(channel)
    if hub := safe_url(settings.websub_hub):
        selflink = channel.find(f"{{{_ATOM_NS}}}link")
        if selflink is None:  # feedgen writes <atom:link rel="self"> for the self link given above
            raise RuntimeError("feedgen wrote no atom:link in the RSS channel")
        selflink.addnext(etree.Element(f"{{{_ATOM_NS}}}link", href=hub, rel="hub"))
    head = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return _with_entries(head, _RSS_END, rendered(entries, "rss_xml", lambda e: rss_item(e, settings)))


def _rss_channel_text(channel: etree._Element) -> None:
    """The channel's title as an RSS title, its description (text: the subtitle) HTML-escaped."""
    title, description = channel.find("title"), channel.find("description")
    if title is not None and title.text:
        title.text = rss_text(title.text)
    if description is not None and description.text:
        description.text = html.escape(description.text, quote=False)


def render_rss(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    entries = prepare_entries(articles, settings)
    return rss_bytes(feed_generator(spec, entries, settings), entries, spec, settings)


def render_atom(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    entries = prepare_entries(articles, settings)
    return atom_bytes(feed_generator(spec, entries, settings), entries, spec, settings)


def render_all(
    spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings, *, cache: EntryCache | None = None
) -> dict[str, bytes]:
    """All three formats from one preparation of the entries and one feedgen build.

    `cache`: pass the same dict to every call of one build (same settings) and an article shared by
    several feeds is cleaned and prepared once; entries are reused only for the very same Article
    object, so a changed article is never rendered stale.
    """
    entries = prepare_entries(articles, settings, cache)
    fg = feed_generator(spec, entries, settings)
    return {
        "rss": rss_bytes(fg, entries, spec, settings),
        "atom": atom_bytes(fg, entries, spec, settings),
        "json": json_bytes(entries, spec, settings),
    }
