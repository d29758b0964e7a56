"""The feed renderer feedpipe used before `feeds.fragments`: feedgen builds every entry's elements and
lxml serialises them. Kept as the tests' oracle: the fragments must give the same bytes."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from feedgen.feed import FeedGenerator
from lxml import etree

from feedpipe import __version__
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.core.urls import safe_url
from feedpipe.feeds import FeedSpec, feed_id, feed_url, prepare_entries
from feedpipe.feeds.entries import EPOCH, Entry, utc
from feedpipe.feeds.render import GENERATOR_URI
from feedpipe.feeds.specs import MEDIA_TYPES

_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_LOOKS_LIKE_MARKUP = re.compile(r"[<>]|&#?\w+;")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")


def entry_language(e: Entry, settings: FeedSettings) -> str | None:
    """An entry's own language, when it is a valid tag and not the feed's (which it then inherits)."""
    lang = e.language.strip()
    if not lang or not _LANGUAGE_TAG.match(lang) or lang.lower() == (settings.language or "").lower():
        return None
    return lang


def rss_text(text: str) -> str:
    """Text for an RSS title, which readers (feedparser among them) read as HTML when it looks like
    markup: escaped when it holds markup or an entity, so "<img onerror=...>" is shown, never rendered.
    Authors and categories are read as plain text and go in as they are."""
    return html.escape(text, quote=False) if _LOOKS_LIKE_MARKUP.search(text) else text


def _links(*links: dict[str, str]) -> list[dict[str, str]]:
    """Feed-level links whose href passes the safe-URL rule (the others are left out)."""
    return [link | {"href": href} for link in links if (href := safe_url(link["href"]))]


def feed_generator(spec: FeedSpec, entries: list[Entry], settings: FeedSettings) -> FeedGenerator:
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
    fg.updated(max((e.updated for e in entries), default=utc(EPOCH)))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(e.id)
        fe.title(e.title)
        if e.link:  # no public URL: no link at all (never a file: path or a javascript: URL)
            fe.link(href=e.link, rel="alternate")
        if e.summary:
            fe.summary(e.summary)
        if e.content:
            fe.content(e.content, type="html")
        elif not e.link:  # RFC 4287: an entry without an alternate link has content (text, as HTML)
            fe.content(html.escape(e.summary or e.title, quote=False), type="html")
        if e.authors:
            fe.author([{"name": a} for a in e.authors])
        fe.published(e.published)
        fe.updated(e.updated)
    return fg


def atom_bytes(fg: FeedGenerator, entries: list[Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    links = _links(
        {"href": settings.public_url, "rel": "alternate", "type": "text/html"},
        {"href": feed_url(spec, "atom", settings), "rel": "self", "type": MEDIA_TYPES["atom"]},
        *([{"href": settings.websub_hub, "rel": "hub"}] if settings.websub_hub else []),
    )
    fg.link(links, replace=True)
    root, doc = fg._create_atom()  # feedgen 1.x (pinned < 2)
    sub = etree.SubElement
    for node, e in zip(root.iterfind("entry"), entries, strict=True):
        if lang := entry_language(e, settings):
            node.set(_XML_LANG, lang)  # Atom: xml:lang on the entry (feedgen 1.x has no per-entry language)
        if e.image:
            sub(node, "link", href=e.image, rel="enclosure", type=e.image_type)
        for scheme, term, label in e.categories:
            sub(node, "category", term=term, scheme=scheme, label=label)
    return etree.tostring(doc, pretty_print=True, xml_declaration=True, encoding="UTF-8")


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
    sub = etree.SubElement
    creator = f"{{{_DC_NS}}}creator"
    for node, e in zip(channel.iterfind("item"), entries, strict=True):
        _rss_text_fields(node, e)
        # <category>: the code with its scheme as domain (for filters), then the label alone (for people).
        for scheme, term, _ in e.categories:
            sub(node, "category", domain=scheme).text = term
        for label in dict.fromkeys(label for _, term, label in e.categories if label and label != term):
            sub(node, "category").text = label
        if e.image:
            sub(node, "enclosure", url=e.image, length="0", type=e.image_type)
        for author in e.authors:
            sub(node, creator).text = author
        if lang := entry_language(e, settings):
            sub(node, f"{{{_DC_NS}}}language").text = lang  # RSS has <language> per channel only
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _rss_channel_text(channel: etree._Element) -> None:
    """The channel's title as an RSS title, its description (text: the subtitle) HTML-escaped."""
    title, description = channel.find("title"), channel.find("description")
    if title is not None and title.text:
        title.text = rss_text(title.text)
    if description is not None and description.text:
        description.text = html.escape(description.text, quote=False)


def _rss_text_fields(item: etree._Element, e: Entry) -> None:
    """RSS readers render `<description>` as HTML: the (plain-text) summary goes in escaped, and the
    title too when it holds markup. feedgen wrote them verbatim (shared with the Atom build)."""
    title = item.find("title")
    if title is not None:
        title.text = rss_text(e.title)
    description = item.find("description")
    if description is not None and e.summary and description.text == e.summary:
        description.text = html.escape(e.summary, quote=False)


def oracle_rss_atom(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> tuple[bytes, bytes]:
    """(RSS, Atom) as feedgen + lxml wrote them."""
    entries = prepare_entries(articles, settings)
    fg = feed_generator(spec, entries, settings)
    return rss_bytes(fg, entries, spec, settings), atom_bytes(fg, entries, spec, settings)
