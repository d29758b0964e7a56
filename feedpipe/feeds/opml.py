"""The OPML 2.0 index of every feed, grouped by kind (all, countries, topics, sections)."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.core.urls import safe_url
from feedpipe.feeds.specs import FeedSpec, feed_url

_GROUPS = (("all", None), ("country", "Countries"), ("topic", "Topics"), ("section", "Sections"))


def render_opml(specs: Iterable[FeedSpec], settings: FeedSettings, fmt: str = "rss") -> bytes:
    """OPML 2.0 listing every feed (in one format, RSS by default) with its title, grouped by kind."""
    spec_list = list(specs)
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_safe(f"{settings.title} feeds")
    body = etree.SubElement(root, "body")
    version = "RSS2" if fmt == "rss" else fmt.upper()
    for kind, group_title in _GROUPS:
        members = [s for s in spec_list if s.kind == kind]
        if not members:
            continue
        parent = body if group_title is None else etree.SubElement(body, "outline", text=group_title)
        for spec in members:
            xml_url = safe_url(feed_url(spec, fmt, settings))
            if xml_url is None:  # the one safe-URL rule: an unsafe address is never listed
                continue
            outline = etree.SubElement(
                parent,
                "outline",
                type="rss",
                version=version,
                text=xml_safe(spec.title),
                title=xml_safe(spec.title),
                xmlUrl=xml_url,
            )
            if site := safe_url(settings.public_url):
                outline.set("htmlUrl", site)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
