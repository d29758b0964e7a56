"""Feed adapters on small fixtures written for the project: RSS, Atom, JSON Feed, broken input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpipe.core.errors import ExtractError
from feedpipe.extract import extract, parse_feed

FIX = Path(__file__).parent / "fixtures"


def load(name: str) -> bytes:
    return (FIX / name).read_bytes()


def test_rss_fields_dedupe_and_sanitising():
    arts = parse_feed(load("extract_rss.xml"), "https://gazette.example.org/feed.rss", source="gazette")
    assert [a.title for a in arts] == ["Ferry timetable & winter storms", "Market day moves to Saturday"]
    a = arts[0]
    assert a.canonical_url == "https://gazette.example.org/news/ferry"
    assert a.guid == "gazette-1001" and len(a.id) == 32 and a.content_hash
    assert a.published_at == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert a.authors == ("Ana Lima",) and a.categories == ("Transport", "Coast")
    assert a.image == "https://cdn.example.org/ferry.jpg" and a.language == "en-gb"
    assert "<script" not in a.content_html and "onclick" not in a.content_html
    assert 'href="https://gazette.example.org/news/storms"' in a.content_html  # relative to the feed URL
    assert a.text == "Operators agreed a new timetable. Storms closed the crossing.\n\nSecond paragraph."
    assert a.summary == "Operators agree a new timetable."
    assert arts[1].image == "https://cdn.example.org/market.png"


def test_atom_relative_links_html_title_and_dates():
    [a] = parse_feed(load("extract_atom.xml"), "https://bote.example.de/feed.atom", source="bote")
    assert a.title == "Neue Fährzeiten ab Dezember"
    assert a.url == "https://bote.example.de/artikel/faehre"
    assert a.published_at == datetime(2026, 11, 25, 6, 15, tzinfo=UTC)
    assert a.updated_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert a.authors == ("Jan Meier",) and a.categories == ("Verkehr",) and a.language == "de"
    assert a.text == "Die Fähre fährt früher."


def test_json_feed():
    arts = extract(load("extract_jsonfeed.json"), "https://gazette.example.org/feed.json", source="g")
    assert len(arts) == 2  # the duplicate id is dropped
    a, b = arts
    assert a.title == "Lighthouse reopens after repairs"
    assert a.canonical_url == "https://gazette.example.org/news/lighthouse"
    assert a.published_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert a.categories == ("Heritage", "Coast") and a.authors == ("Gazette desk",)
    assert "iframe" not in a.content_html and 'href="https://gazette.example.org/news/keepers"' in a.content_html
    assert b.url == "" and b.guid == "jf-2" and b.text == "Plain text only.\n\nSecond paragraph."
    assert b.authors == ("Ana Lima",)


def test_rss_with_control_characters_keeps_entries_without_the_characters():
    arts = extract(load("extract_rss_control_chars.xml"), "https://example.org/ctl.rss", source="c")
    assert [a.title for a in arts] == ["Bad chars in title", "Second item"]
    for a in arts:
        for value in (a.title, a.text, a.summary, a.content_html):
            assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def test_html_page_is_not_a_feed():
    with pytest.raises(ExtractError) as err:
        parse_feed(load("extract_not_a_feed.html"), "https://gazette.example.org/", source="g")
    assert "https://gazette.example.org/" in err.value.message and "not" in err.value.message
    assert "feed" in err.value.hint


@pytest.mark.parametrize("junk", [b"<rss><channel><item><title>x", b"\x00\x01\x02 garbage", b"<<<>>>"])
def test_malformed_input_raises_readable_error_or_keeps_items(junk):
    try:
        arts = parse_feed(junk, "https://example.org/f", source="j")
    except ExtractError as exc:
        assert exc.message.startswith("https://example.org/f:") and exc.hint
    else:
        assert all(a.id for a in arts)


def test_entries_without_link_guid_title_are_skipped_and_tz_aware():
    arts = parse_feed(load("extract_rss.xml"), "https://gazette.example.org/feed.rss", source="g")
    assert all(a.published_at is None or a.published_at.tzinfo is not None for a in arts)
    assert all(a.title or a.url or a.guid for a in arts)


def test_tracking_and_scheme_variants_in_one_feed_are_one_article():
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><title>A</title><link>https://ex.org/story?utm_source=rss</link></item>
<item><title>A (edited headline)</title><link>http://EX.org/story/</link></item>
<item><title>B</title><link>https://ex.org/other</link></item></channel></rss>"""
    arts = parse_feed(body, "https://ex.org/feed", source="s")
    assert [a.canonical_url for a in arts] == ["https://ex.org/story", "https://ex.org/other"]


def test_items_sharing_a_home_page_link_are_told_apart_by_guid():
    items = "".join(
        f"<item><title>Episode {i}</title><link>https://pod.example/</link><guid>https://cdn.example/{i}.mp3</guid>"
        "</item>" for i in range(3)
    )
    body = f'<rss version="2.0"><channel><title>p</title>{items}</channel></rss>'.encode()
    arts = parse_feed(body, "https://pod.example/feed", source="pod")
    assert len(arts) == 3 and len({a.id for a in arts}) == 3
