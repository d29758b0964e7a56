"""HTML pages: trafilatura plus the boilerplate filter, on the project's own page fixture."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedpipe.core.errors import ExtractError
from feedpipe.extract import extract, parse_page

FIX = Path(__file__).parent / "fixtures"
URL = "https://gazette.example.org/news/lighthouse?utm_source=x"


def test_page_metadata_and_text():
    a = parse_page((FIX / "extract_page.html").read_bytes(), URL, source="web")
    assert a.title == "Lighthouse keepers return to Gull Point"
    assert a.authors == ("Ana Lima",)
    assert a.published_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # the meta timestamp, in UTC
    assert a.image == "https://gazette.example.org/img/gull-point.jpg"
    assert a.canonical_url == "https://gazette.example.org/news/lighthouse"
    assert "Coast" in a.categories and a.extra.get("sitename") == "Harbour Gazette"
    assert a.text.startswith("For the first time in thirty years")
    assert "The council said its support for the project would continue" in a.text
    assert "<h2>Volunteers and visitors</h2>" in a.content_html


def test_page_boilerplate_dropped():
    a = parse_page((FIX / "extract_page.html").read_bytes(), URL, source="web")
    for phrase in ("newsletter", "Dear readers", "A Message from", "Please support us", "Read more",
                   "Market day moves", "All rights reserved", "Local reporting is expensive"):
        assert phrase not in a.text, phrase


def test_sniffed_as_page():
    [a] = extract((FIX / "extract_page.html").read_bytes(), URL, source="web", content_type="text/html")
    assert a.title.startswith("Lighthouse")


def test_empty_page_is_an_extract_error():
    with pytest.raises(ExtractError) as err:
        parse_page(b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "https://ex.org/", source="w")
    assert "https://ex.org/" in err.value.message and err.value.hint


PAGES = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared/data")) / "pages"
MANIFEST = PAGES / "news-outlets" / "manifest.json"


@pytest.mark.corpus
@pytest.mark.skipif(not MANIFEST.exists(), reason=f"evaluation pages not found at {MANIFEST} (FEEDPIPE_EVAL_DATA)")
def test_news_outlet_manifest_scores():
    entries = json.loads(MANIFEST.read_text())
    kept = dropped = n_with = n_without = 0
    for e in entries:
        try:
            text = " ".join(parse_page((MANIFEST.parent / e["file"]).read_bytes(), e["url"], source="eval").text.split())
        except ExtractError:
            text = ""
        for p in e["with"]:
            n_with += 1
            kept += " ".join(p.split()) in text
        for p in e["without"]:
            n_without += 1
            dropped += " ".join(p.split()) not in text
    print(f"manifest: with {kept}/{n_with}, without {dropped}/{n_without}")
    assert kept / n_with >= 0.9 and dropped / n_without >= 0.9
