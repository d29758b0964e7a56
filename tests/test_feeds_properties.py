"""Properties of the feed builders (RSS 2.0, Atom 1.0, JSON Feed), checked with hypothesis: arbitrary
Unicode in every text field gives a document that parses back, carries the text minus the characters
XML forbids (`core.text.xml_safe`), and never turns text into markup.

What a reader sees is feedparser without its own sanitiser: HTML-typed values are what a reader renders
(their visible text is the unescaped value), plain-text values are shown as they are."""

from __future__ import annotations

import contextlib
import html
import json
from datetime import UTC, datetime

import feedparser
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedpipe.core.model import Article, TopicTag
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.feeds import IPTC_SCHEME, all_spec, render_all, slugify

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Any code point, surrogates and controls included, with the characters that make feeds interesting
# (markup, entities, line breaks, NEL, LS/PS, BOM, non-characters) drawn more often.
SPICE = st.sampled_from(["<", ">", "&", "&amp;", "&lt;b&gt;", "</b>", "<img src=x onerror=alert(1)>", '"', "'",
                         "\r\n", "\n", "\t", "\x00", "\x0b", "\x85", "\u2028", "\ufeff", "\ufffe", "\ud800",
                         "]]>", "=?UTF-8?Q?=0D=0A?=", " "])
TEXT = st.lists(st.one_of(st.text(max_size=12), SPICE), max_size=8).map("".join)
RSS_ITEM_CHILDREN = {"title", "link", "description", "guid", "pubDate", "category", "enclosure",
                     "{http://purl.org/dc/elements/1.1/}creator", "{http://purl.org/rss/1.0/modules/content/}encoded"}


_CP1252 = {c: bytes([c]).decode("cp1252") for c in range(0x80, 0xA0) if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def as_read(text: str) -> str:
    """`text` as feedparser reads it: trimmed, UTF-8 that was decoded as Latin-1 repaired, C1 code points
    mapped to their Windows-1252 characters (feedparser's mixin.pop does this to most values, not to all:
    both sides of a comparison go through it). A reader's quirk, not a change feedpipe makes."""
    text = text.strip()
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252).strip()


def shown(detail: feedparser.FeedParserDict) -> str:
    """The text a reader shows for a text construct; an HTML value must hold no markup at all."""
    value = str(detail.value)
    if detail.type in ("text/html", "application/xhtml+xml"):
        assert "<" not in value, f"markup published: {value!r}"
        return html.unescape(value)
    return value


def read(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 1
    return parsed


@PROPERTY
@given(feed_title=TEXT, title=TEXT, summary=TEXT, author=TEXT, label=TEXT, section=TEXT)
@example(  # issue 10, failure 2: markup in every text field
    feed_title="<b>News</b>", title="<img src=x onerror=alert(1)>", summary="<img src=x onerror=alert(1)>",
    author="<script>alert(1)</script>", label="a</b>&amp;", section="<i>news</i>",
)
def test_any_unicode_in_any_text_field_reads_back_as_the_same_text_in_every_format(
    feed_title, title, summary, author, label, section
):
    feed_settings = FeedSettings(public_url="https://news.example.org", title=xml_safe(feed_title).strip() or "x")
    article = Article(
        id="id0001", url="https://news.example.org/a", canonical_url="https://news.example.org/a", source="desk",
        title=title, summary=summary, authors=(author,), section=section, published_at=T0,
        topics=(TopicTag(code="medtop:20000000", label=label, score=1.0),),
    )

    out = render_all(all_spec(feed_settings), [article], feed_settings)

    want_title = " ".join(xml_safe(title).split())
    want_summary = xml_safe(summary).strip()
    want_author = xml_safe(author).strip()
    want_label = xml_safe(label or "medtop:20000000")
    want_section = (f"{feed_settings.feeds_url}/section/", slugify(section), xml_safe(section))
    rss, atom = read(out["rss"]), read(out["atom"])
    for fmt, parsed in (("rss", rss), ("atom", atom)):
        entry = parsed.entries[0]
        assert as_read(shown(parsed.feed.title_detail)) == as_read(feed_settings.title), fmt
        if want_title:
            assert as_read(shown(entry.title_detail)) == as_read(want_title), fmt
        if want_summary:
            assert as_read(shown(entry.summary_detail)) == as_read(want_summary), fmt
        else:
            assert "summary" not in entry or not shown(entry.summary_detail).strip(), fmt
        if want_author:
            assert as_read(entry.author) == as_read(want_author), fmt
        else:
            assert "author" not in entry, fmt
    atom_tags = {(t.scheme, t.term, t.label or "") for t in atom.entries[0].tags}  # attributes: read as written
    assert (IPTC_SCHEME, "20000000", want_label) in atom_tags
    if want_section[1]:
        assert want_section in atom_tags
    rss_terms = [as_read(t.term) for t in rss.entries[0].tags]
    if as_read(want_label) and want_label != "20000000":
        assert as_read(want_label) in rss_terms
    item = etree.fromstring(out["rss"]).find("channel/item")
    assert {child.tag for child in item} <= RSS_ITEM_CHILDREN  # text never becomes an element

    feed = json.loads(out["json"])
    (json_item,) = feed["items"]
    assert feed["title"] == xml_safe(feed_settings.title)
    if want_title:
        assert json_item["title"] == want_title
    assert json_item.get("summary", "") == xml_safe(summary)
    assert json_item.get("authors", []) == ([{"name": want_author}] if want_author else [])
    assert want_label in json_item["tags"]
    assert json_item["url"] == "https://news.example.org/a"
