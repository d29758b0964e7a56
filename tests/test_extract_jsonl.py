"""JSON Lines bulk import and format sniffing."""

from __future__ import annotations

from datetime import UTC, datetime

from feedpipe.extract import extract, parse_jsonl, sniff_kind

LINES = b"""{"url": "https://ex.org/a?utm_source=x", "title": "First", "body": "Para one.\\n\\nRead more", "published": "2026-11-27T09:30:00+01:00", "author": "Ana", "categories": ["World"], "section": "news", "image": "/img/a.jpg"}
{"title": "no url"}
not json
[1, 2]
{"url": "http://ex.org/a", "title": "Same article over http"}
{"url": "https://ex.org/b", "title": "Second", "body": "<p>Html <b>body</b></p><script>x()</script>", "published": "yesterday-ish", "authors": ["A", "B"]}
"""


def test_parse_jsonl_articles_and_errors():
    arts, errors = parse_jsonl(LINES, "/data/import.jsonl", source="bulk")
    assert [a.title for a in arts] == ["First", "Second"]
    a, b = arts
    assert a.canonical_url == "https://ex.org/a" and a.text == "Para one."
    assert a.published_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    assert a.authors == ("Ana",) and a.categories == ("World",) and a.section == "news"
    assert a.image == "https://ex.org/img/a.jpg"
    assert b.authors == ("A", "B") and "script" not in b.content_html and b.text == "Html body"
    assert errors[0] == "line 2: missing 'url' — every line needs url and title"
    assert errors[1].startswith("line 3: not valid JSON")
    assert errors[2].startswith("line 4: expected a JSON object")
    assert errors[3].startswith("line 5: duplicate")
    assert errors[4].startswith("line 6: 'published' value")


def test_sniffing():
    assert sniff_kind(LINES, "x.jsonl") == "jsonl"
    assert sniff_kind(LINES, "https://ex.org/export") == "jsonl"
    assert sniff_kind(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "f") == "feed"
    assert sniff_kind(b"<?xml version='1.0'?><rss version='2.0'></rss>", "f") == "feed"
    assert sniff_kind(b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>", "f") == "feed"
    assert sniff_kind(b"<!DOCTYPE html><html><body></body></html>", "f") == "page"
    assert sniff_kind(b"Title\n\nBody.", "a.txt") == "text"
    assert sniff_kind("<rss version='2.0'/>".encode("utf-16"), "f") == "feed"


def test_extract_jsonl_via_extract():
    arts = extract(LINES, "/data/import.jsonl", source="bulk")
    assert len(arts) == 2
