"""The fast feed path (feedparser-rs) stores what feedparser would, declines what it would read
differently, and stays inert on hostile input like the feedparser path (tests/test_hostile_input.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedpipe.core.errors import ExtractError
from feedpipe.extract import parse_feed
from feedpipe.extract.feed_fast import fast_parse
from tests.test_hostile_input import LAUGHS, _feed_with_entity

BASE = "https://news.example.org/feed.xml"

NEWS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>News</title><link>https://news.example.org/</link><language>en-gb</language>
<item><title>Ferry &amp; bus strike ends</title><link>https://news.example.org/a/1?x=1&amp;y=2</link>
<guid isPermaLink="false">n-1</guid><pubDate>Tue, 24 Nov 2026 08:30:00 +0000</pubDate>
<dc:creator>Ana Lima</dc:creator><category>Transport &amp; travel</category>
<media:content url="https://cdn.example.org/ferry.jpg?w=1&amp;h=2" medium="image"/>
<description><![CDATA[<p>Crews return <a href="/more">on Monday</a>.</p><script>alert(1)</script>]]></description></item>
<item><title>Market day moves</title><link>https://news.example.org/a/2</link>
<pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate><description>Plain words only.</description></item>
</channel></rss>"""


def test_a_plain_utf8_feed_takes_the_fast_path_and_stores_what_feedparser_would():
    assert fast_parse(NEWS) is not None
    fast = parse_feed(NEWS, BASE, source="news")
    assert fast == parse_feed(NEWS, BASE, source="news", reader="feedparser")
    first = fast[0]
    assert first.title == "Ferry & bus strike ends" and first.url == "https://news.example.org/a/1?x=1&y=2"
    assert first.categories == ("Transport & travel",) and first.authors == ("Ana Lima",)
    assert first.image == "https://cdn.example.org/ferry.jpg?w=1&h=2"
    assert "<script" not in first.content_html and 'href="https://news.example.org/more"' in first.content_html
    assert first.updated_at is None  # RSS has no updated date unless dc:date says so


def test_a_link_to_a_private_address_is_kept_by_falling_back_to_feedparser():
    local = NEWS.replace(b"https://news.example.org/a/2", b"http://127.0.0.1:8080/a/2")
    assert fast_parse(local) is None
    assert parse_feed(local, BASE, source="news")[1].url == "http://127.0.0.1:8080/a/2"


@pytest.mark.parametrize("marker", [b"xml:base", b'type="xhtml"', b"type='xhtml'", b"<atom:updated>", b"<a:updated ",
                                    b"<dcterms:modified>", b"<atom:modified ", b"<description> <p>",
                                    b"<summary><b>", b"<content:encoded>\n<div>"])
def test_constructs_feedparser_reads_its_own_way_go_to_feedparser(marker: bytes):
    assert fast_parse(NEWS.replace(b"</channel>", b"<!-- " + marker + b" --></channel>")) is None


def test_a_latin1_feed_without_a_declaration_is_read_as_feedparser_reads_it():
    latin = NEWS.replace(b'<?xml version="1.0" encoding="utf-8"?>', b"").replace(
        b"Market day", "Marché day".encode("latin-1"))
    assert fast_parse(latin) is None
    assert parse_feed(latin, BASE, source="news")[1].title == "Marché day moves"


def test_the_fast_parser_itself_expands_no_entity_bomb():
    """Guarded ingest sends a DOCTYPE to feedparser; the fast parser alone must be inert too."""
    result = fast_parse(LAUGHS, guarded=False)
    text = repr(result)
    assert "lollollol" not in text and len(text) < 10_000


def test_the_fast_parser_itself_never_reads_an_external_entity(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    for system_id in (secret.as_uri(), "file:///etc/passwd"):
        text = repr(fast_parse(_feed_with_entity(system_id), guarded=False))
        assert "TOP-SECRET-MARKER" not in text and "root:" not in text


def test_an_undeclared_entity_without_a_doctype_stays_inert_on_the_fast_path():
    body = NEWS.replace(b"Plain words only.", b"Plain &xxe; words &#x1F600; only.")
    try:
        arts = parse_feed(body, BASE, source="news")
    except ExtractError:
        return
    assert all("root:" not in a.text for a in arts)


def test_a_body_that_is_a_url_is_never_fetched_by_the_fast_parser():
    assert fast_parse(b"http://127.0.0.1:9/feed.xml", guarded=False) is None
    with pytest.raises(ExtractError):
        parse_feed(b"http://127.0.0.1:9/feed.xml", BASE, source="news")


def test_an_untyped_atom_title_is_text_so_its_escaped_references_stay_as_written():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:b</id>
<entry><title>Use &amp;ldquo;Tell&amp;rdquo; &amp; ask</title><link href="https://blog.example.org/1"/>
<id>urn:b:1</id><updated>2026-11-20T10:00:00Z</updated><summary>Why &lt;b&gt; is not bold</summary></entry>
</feed>"""
    assert fast_parse(atom) is not None
    fast = parse_feed(atom, BASE, source="blog")
    assert fast == parse_feed(atom, BASE, source="blog", reader="feedparser")
    assert fast[0].title == "Use &ldquo;Tell&rdquo; & ask" and fast[0].summary == "Why <b> is not bold"


PODCAST = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Cast</title><link>https://cast.example.org/</link>
<itunes:summary>The show</itunes:summary><description>The show</description>
<item><title>Episode 2</title><link>https://cast.example.org/2</link><guid isPermaLink="false">ep-2</guid>
<itunes:summary>Two hosts, one &amp;quot;topic&amp;quot;.</itunes:summary>
<description><![CDATA[<div>Two hosts, one topic.</div>]]></description>
<itunes:author>Ana Lima</itunes:author><itunes:image href="https://cast.example.org/2.jpg?s=1&amp;t=2"/></item>
<item><title>Episode 1</title><link>https://cast.example.org/1</link><guid>ep-1</guid>
<description>First &lt;b&gt;one&lt;/b&gt;</description><dc:creator>Ana Lima</dc:creator><author>Rui Sousa</author>
<itunes:summary>First one, at length.</itunes:summary><category>Talk &amp; news</category>
<itunes:keywords>talk, news, talk,  , Lisbon</itunes:keywords><itunes:category text="News &amp; Politics"/>
<content:encoded><![CDATA[<p>First one, at <em>length</em>.</p>]]></content:encoded></item>
</channel></rss>"""


def test_a_podcast_takes_the_fast_path_and_stores_what_feedparser_would():
    """itunes:summary, keywords, category, author and image, folded in the way feedparser does (a channel's
    second summary even carries into the first item); a relative permalink guid is resolved."""
    assert fast_parse(PODCAST, base_url=BASE) is not None
    fast = parse_feed(PODCAST, BASE, source="cast")
    assert fast == parse_feed(PODCAST, BASE, source="cast", reader="feedparser")
    second, first = fast
    assert second.image == "https://cast.example.org/2.jpg?s=1&t=2" and second.authors == ("Ana Lima",)
    assert first.categories == ("Talk & news", "talk", "news", "Lisbon", "News & Politics")
    assert first.authors == ("Ana Lima", "Rui Sousa") and first.guid == "https://news.example.org/ep-1"


def test_a_document_feedparser_reads_loosely_is_decoded_the_way_it_decodes():
    """A blank line before the XML declaration sends feedparser to its loose parser, which decodes
    "&amp;quot;" down to a quote and leaves categories escaped; the fast path does the same."""
    loose = b"\n" + NEWS.replace(b"Plain words only.", b"Say &amp;quot;hi&amp;quot; &amp;amp; go")
    assert fast_parse(loose) is not None
    assert parse_feed(loose, BASE, source="news") == parse_feed(loose, BASE, source="news", reader="feedparser")


def test_an_empty_dc_creator_does_not_take_the_next_element_as_author_or_lose_the_guid():
    body = NEWS.replace(b"<dc:creator>Ana Lima</dc:creator>", b"").replace(
        b'<guid isPermaLink="false">n-1</guid><pubDate>Tue, 24 Nov 2026 08:30:00 +0000</pubDate>',
        b'<pubDate>Tue, 24 Nov 2026 08:30:00 +0000</pubDate><dc:creator/><guid isPermaLink="false">n-1</guid>')
    assert fast_parse(body) is not None
    assert parse_feed(body, BASE, source="news") == parse_feed(body, BASE, source="news", reader="feedparser")
    two = body.replace(b"<dc:creator/><guid", b"<dc:creator/><dc:creator/><guid")
    assert parse_feed(two, BASE, source="news") == parse_feed(two, BASE, source="news", reader="feedparser")


def test_itunes_elements_in_an_atom_feed_go_to_feedparser():
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<title>A</title><id>urn:a</id><entry><title>One</title><link href="https://a.example.org/1"/><id>urn:a:1</id>
<updated>2026-11-20T10:00:00Z</updated><itunes:keywords>x, y</itunes:keywords></entry></feed>"""
    assert fast_parse(atom) is None
    assert parse_feed(atom, BASE, source="a")[0].categories == ("x", "y")


def test_a_declared_latin1_feed_takes_the_fast_path_unless_it_has_windows_1252_bytes():
    latin = NEWS.replace(b'encoding="utf-8"', b'encoding="ISO-8859-1"').replace(
        b"Market day", "Marché day".encode("latin-1"))
    assert fast_parse(latin) is not None
    assert parse_feed(latin, BASE, source="news") == parse_feed(latin, BASE, source="news", reader="feedparser")
    quoted = latin.replace(b"Plain words", b"\x93Plain\x94 words")  # feedparser reads these as curly quotes
    assert fast_parse(quoted) is None


def test_one_xml_base_on_atom_content_is_the_base_of_its_links():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:b</id>
<entry><title>One</title><link href="https://blog.example.org/1"/><id>urn:b:1</id><updated>2026-11-20T10:00:00Z</updated>
<content type="html" xml:base="https://static.example.net/posts/">&lt;a href="two"&gt;next&lt;/a&gt;</content></entry>
</feed>"""
    assert fast_parse(atom) is not None
    fast = parse_feed(atom, BASE, source="blog")
    assert fast == parse_feed(atom, BASE, source="blog", reader="feedparser")
    assert 'href="https://static.example.net/posts/two"' in fast[0].content_html
    on_entry = atom.replace(b"<entry>", b'<entry xml:base="https://other.example.net/">')
    assert fast_parse(on_entry) is None


def test_a_media_description_is_a_second_description_as_feedparser_reads_it():
    """feedparser stores a photo caption after the description as the item's content: so does the fast path."""
    body = NEWS.replace(b'medium="image"/>', b'medium="image"><media:description>A ferry at dawn'
                                              b'</media:description></media:content>')
    assert fast_parse(body) is not None
    fast = parse_feed(body, BASE, source="news")
    assert fast == parse_feed(body, BASE, source="news", reader="feedparser")
    after_content = body.replace(b"<description>", b"<content:encoded>x</content:encoded><description>").replace(
        b'<rss version="2.0"', b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"')
    assert parse_feed(after_content, BASE, source="news") == parse_feed(after_content, BASE, source="news",
                                                                        reader="feedparser")
