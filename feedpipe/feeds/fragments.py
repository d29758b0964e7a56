"""One entry's RSS `<item>` and Atom `<entry>` as serialised XML, written once per entry and reused by
every feed the entry appears in (an article is in "all", its countries', topics' and section's feeds).

The fragments are the bytes lxml wrote when feedgen built each entry's elements (the feed's head is
still built by feedgen, see `render`): the same elements in the same order, escaped as libxml2 escapes
(text: & < > and CR; attribute values: & < > " and TAB, LF, CR as character references), indented as
`pretty_print` indents them at their depth. `tests/feeds_oracle.py` keeps the feedgen rendering and
the tests check that both give the same bytes. Every value is already text cleaned of XML-forbidden
characters (`entries.Entry`), so escaping is all that is left to do here.
"""

from __future__ import annotations

import html
import re
from email.utils import format_datetime
from functools import lru_cache

from feedpipe.core.settings import FeedSettings
from feedpipe.feeds.entries import Entry

_LOOKS_LIKE_MARKUP = re.compile(r"[<>]|&#?\w+;")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")


def text(value: str) -> str:
    """Element text as libxml2 writes it."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\r", "&#13;") if "\r" in value else value


def attr(value: str) -> str:
    """An attribute value (between double quotes) as libxml2 writes it."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if "\n" in value or "\r" in value or "\t" in value:
        value = value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return value


def entry_language(e: Entry, settings: FeedSettings) -> str | None:
    """An entry's own language, when it is a valid tag and not the feed's (which it then inherits)."""
    lang = e.language.strip()
    if not lang or not _LANGUAGE_TAG.match(lang) or lang.lower() == (settings.language or "").lower():
        return None
    return lang


def rss_text(value: str) -> str:
    """Text for an RSS title, which readers (feedparser among them) read as HTML when it looks like
    markup: escaped when it holds markup or an entity, so "<img onerror=...>" is shown, never rendered.
    Authors and categories are read as plain text and go in as they are."""
    return html.escape(value, quote=False) if _LOOKS_LIKE_MARKUP.search(value) else value


def content_html(e: Entry) -> str:
    """The entry's HTML content; without content or a link, its summary (or title) as HTML, since an
    Atom entry without an alternate link must have content (RFC 4287)."""
    if e.content:
        return e.content
    return "" if e.link else html.escape(e.summary or e.title, quote=False)


# Categories repeat across entries (a few countries and topics are in most of them): each line once.
@lru_cache(maxsize=4096)
def _rss_category(scheme: str, term: str) -> str:
    return f'      <category domain="{attr(scheme)}">{text(term)}</category>\n'


@lru_cache(maxsize=4096)
def _rss_label(label: str) -> str:
    return f"      <category>{text(label)}</category>\n"


@lru_cache(maxsize=4096)
def _atom_category(scheme: str, term: str, label: str) -> str:
    return f'    <category term="{attr(term)}" scheme="{attr(scheme)}" label="{attr(label)}"/>\n'


def rss_item(e: Entry, settings: FeedSettings) -> bytes:
    """`<item>` at its depth in `<rss><channel>` (four spaces), with its line end. RSS readers render
    `<description>` as HTML: the (plain-text) summary goes in escaped."""
    out = [f"    <item>\n      <title>{text(rss_text(e.title))}</title>\n"]
    if e.link:
        out.append(f"      <link>{text(e.link)}</link>\n")
    content = content_html(e)
    if e.summary:
        out.append(f"      <description>{text(html.escape(e.summary, quote=False))}</description>\n")
        if content:
            out.append(f"      <content:encoded>{text(content)}</content:encoded>\n")
    elif content:
        out.append(f"      <description>{text(content)}</description>\n")
    out.append(f'      <guid isPermaLink="false">{text(e.id)}</guid>\n')
    out.append(f"      <pubDate>{format_datetime(e.published)}</pubDate>\n")
    # <category>: the code with its scheme as domain (for filters), then the label alone (for people).
    out += [_rss_category(scheme, term) for scheme, term, _ in e.categories]
    out += [_rss_label(label)
            for label in dict.fromkeys(label for _, term, label in e.categories if label and label != term)]
    if e.image:
        out.append(f'      <enclosure url="{attr(e.image)}" length="0" type="{attr(e.image_type)}"/>\n')
    out += [f"      <dc:creator>{text(author)}</dc:creator>\n" for author in e.authors]
    if lang := entry_language(e, settings):
        out.append(f"      <dc:language>{text(lang)}</dc:language>\n")  # RSS has <language> per channel only
    out.append("    </item>\n")
    return "".join(out).encode()


def atom_entry(e: Entry, settings: FeedSettings) -> bytes:
    """`<entry>` at its depth in `<feed>` (two spaces), with its line end. Titles and summaries are
    text (Atom's default type); the content is HTML, escaped."""
    lang = entry_language(e, settings)
    out = [f'  <entry xml:lang="{attr(lang)}">\n' if lang else "  <entry>\n",
           f"    <id>{text(e.id)}</id>\n    <title>{text(e.title)}</title>\n",
           f"    <updated>{e.updated.isoformat()}</updated>\n"]
    out += [f"    <author>\n      <name>{text(author)}</name>\n    </author>\n" for author in e.authors]
    if content := content_html(e):
        out.append(f'    <content type="html">{text(content)}</content>\n')
    if e.link:  # feedgen 1.x writes the entry's alternate link with its href only
        out.append(f'    <link href="{attr(e.link)}"/>\n')
    if e.summary:
        out.append(f"    <summary>{text(e.summary)}</summary>\n")
    out.append(f"    <published>{e.published.isoformat()}</published>\n")
    if e.image:
        out.append(f'    <link href="{attr(e.image)}" rel="enclosure" type="{attr(e.image_type)}"/>\n')
    out += [_atom_category(scheme, term, label) for scheme, term, label in e.categories]
    out.append("  </entry>\n")
    return "".join(out).encode()
