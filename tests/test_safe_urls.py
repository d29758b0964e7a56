"""Nothing active leaves feedpipe: one safe-URL rule for every published URL (feeds, digest, web), text
fields published as text, HTML fields sanitised with the one nh3 policy, no local path in public output.

Reader's view: feedparser without its own sanitiser (`sanitize_html=False`), so what it returns is what a
reader that trusts the feed would render."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import feedparser
import lxml.html
import pytest
from lxml import etree

from feedpipe.core.html import sanitize_html
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.urls import safe_url
from feedpipe.digest import render as digest_render
from feedpipe.digest.render import Links, render
from feedpipe.digest.select import select
from feedpipe.extract import clean, extract
from feedpipe.feeds import all_spec, render_all
from tests.digest_support import SEND_AT, digest_settings

SETTINGS = FeedSettings(public_url="https://news.example.org", title="Example News")
SPEC = all_spec(SETTINGS)
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
ONERROR = "<img src=x onerror=alert(1)>"
UNSAFE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "about:blank",
    "https://user:secret@news.example.org/a",
    "https://news.example.org@evil.example/a",
    "https://news.example.org/a\nb",
    "https://news.example.org/\u202egnp.exe",
    'https://news.example.org/"onmouseover="alert(1)',
    "http://news.example.org:99999/",
    "https:evil.example",
    "/relative/without/base",
    "//evil.example/protocol-relative",
]


def story(**changes: object) -> Article:
    fields: dict[str, object] = dict(
        id="id0001", url="https://news.example.org/story-1", canonical_url="https://news.example.org/story-1",
        title="Story 1", source="desk", summary="Summary of story 1.", content_html="<p>Body</p>",
        published_at=T0, image="https://img.example.org/1.jpg",
    )
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


def read(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def as_rendered(detail: feedparser.FeedParserDict) -> str:
    """The HTML a reader renders for a text construct: HTML as is, plain text escaped."""
    if detail.type in ("text/html", "application/xhtml+xml"):
        return str(detail.value)
    return html.escape(str(detail.value))


def active_parts(fragment: str) -> list[str]:
    """Elements a browser would make active in this HTML: images, scripts, frames, on* handlers."""
    if not fragment.strip():
        return []
    found = []
    for el in lxml.html.fragment_fromstring(fragment, create_parent="div").iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("img", "script", "iframe", "object", "embed", "svg", "style"):
            found.append(el.tag)
        found += [f"{el.tag}@{name}" for name in el.attrib if name.lower().startswith("on")]
        found += [f"{el.tag}@{name}={value}" for name, value in el.attrib.items()
                  if name in ("href", "src") and not value.startswith(("https://", "http://"))]
    return found


def every_published_url(out: dict[str, bytes]) -> list[str]:
    """Every URL in the three formats: links, enclosures, ids excepted (tag: URIs are not links)."""
    urls: list[str] = []
    for fmt in ("rss", "atom"):
        root = etree.fromstring(out[fmt])
        urls += [v for el in root.iter() for k, v in el.attrib.items() if k in ("href", "url", "src")]
        urls += [el.text or "" for el in root.iter() if isinstance(el.tag, str) and el.tag in ("link",)]
    feed = json.loads(out["json"])
    urls += [feed.get("home_page_url", ""), feed.get("feed_url", "")]
    for item in feed["items"]:
        urls += [item.get(k, "") for k in ("url", "external_url", "image", "banner_image")]
    return [u for u in urls if u]


# --- the rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_the_one_rule_refuses_every_other_scheme_control_characters_and_credentials(url):
    assert safe_url(url) is None
    assert safe_url(url, allow_mailto=True) is None


def test_the_one_rule_keeps_web_urls_as_written_and_resolves_relative_ones_against_the_source():
    assert safe_url("https://news.example.org/a?b=1#c") == "https://news.example.org/a?b=1#c"
    assert safe_url("HTTP://News.Example.org/Київ") == "HTTP://News.Example.org/Київ"
    assert safe_url("  https://news.example.org/a b  ") == "https://news.example.org/a%20b"
    base = "https://news.example.org/world/story"
    assert safe_url("/img/1.jpg", base=base) == "https://news.example.org/img/1.jpg"
    assert safe_url("2.jpg", base=base) == "https://news.example.org/world/2.jpg"
    assert safe_url("//cdn.example.org/3.jpg", base=base) == "https://cdn.example.org/3.jpg"
    assert safe_url("javascript:alert(1)", base=base) is None
    assert safe_url("/a", base="file:///srv/news/") is None  # a base is only used when it is itself safe
    assert safe_url("mailto:desk@news.example.org") is None
    assert safe_url("mailto:desk@news.example.org", allow_mailto=True) == "mailto:desk@news.example.org"
    assert safe_url(None) is None and safe_url("") is None


def test_the_digest_the_web_and_the_sanitiser_use_the_one_rule_and_the_one_policy():
    assert digest_render.safe_url is safe_url
    assert clean.sanitize_html is sanitize_html


# --- failure 2: active content in the published feeds ------------------------------------------------


def assert_no_active_content(out: dict[str, bytes]) -> None:
    for fmt in ("rss", "atom"):
        parsed = read(out[fmt])
        for entry in parsed.entries:
            for key in ("title_detail", "summary_detail"):
                if key in entry:
                    assert active_parts(as_rendered(entry[key])) == [], (fmt, key, entry[key])
            for content in entry.get("content", []):
                assert active_parts(as_rendered(content)) == [], (fmt, content)
    for item in json.loads(out["json"])["items"]:
        assert active_parts(item.get("content_html", "")) == [], item


def test_a_summary_with_an_onerror_handler_is_published_as_text_never_as_html():
    out = render_all(SPEC, [story(summary=ONERROR, title=f"Title {ONERROR}", content_html="")], SETTINGS)

    assert_no_active_content(out)
    rss = read(out["rss"]).entries[0]
    assert html.unescape(rss.summary) == ONERROR  # the reader still sees the text, as text
    assert read(out["atom"]).entries[0].summary == ONERROR
    assert json.loads(out["json"])["items"][0]["summary"] == ONERROR  # JSON Feed's summary is plain text


def test_stored_html_is_sanitised_again_with_the_one_policy_when_published():
    dirty = f'<p onclick="x()">Hi {ONERROR}<script>alert(1)</script><a href="javascript:alert(1)">j</a></p>'
    out = render_all(SPEC, [story(content_html=dirty)], SETTINGS)

    for fmt in ("rss", "atom"):
        for content in read(out[fmt]).entries[0].content:
            assert "onerror" not in content.value and "<script" not in content.value, fmt
            assert "javascript" not in content.value and "onclick" not in content.value, fmt
    item = json.loads(out["json"])["items"][0]
    assert item["content_html"] == sanitize_html(dirty, "https://news.example.org/story-1")


def test_a_json_feed_item_with_an_onerror_summary_comes_out_as_text_after_extraction():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Desk",
           "home_page_url": "https://source.example.org/",
           "items": [{"id": "1", "url": "https://source.example.org/a", "title": "A",
                      "summary": ONERROR, "date_published": "2026-11-20T09:30:00Z"}]}
    articles = extract(json.dumps(doc).encode(), "https://source.example.org/feed.json", source="desk")

    out = render_all(SPEC, articles, SETTINGS)

    assert_no_active_content(out)
    assert html.unescape(read(out["rss"]).entries[0].summary) == ONERROR


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_an_unsafe_link_or_image_is_dropped_from_every_format(url):
    out = render_all(SPEC, [story(url=url, canonical_url=url, image=url)], SETTINGS)

    published = every_published_url(out)
    assert all(safe_url(u) == u for u in published), published
    rss, atom = read(out["rss"]).entries[0], read(out["atom"]).entries[0]
    assert "link" not in rss and not rss.get("enclosures")
    assert not atom.get("links") and not atom.get("enclosures")
    item = json.loads(out["json"])["items"][0]
    assert "url" not in item and "image" not in item and item["title"] == "Story 1"


def test_an_unsafe_canonical_url_falls_back_to_the_safe_url_of_the_article():
    out = render_all(SPEC, [story(canonical_url="javascript:alert(1)")], SETTINGS)
    assert read(out["atom"]).entries[0].link == "https://news.example.org/story-1"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "vbscript:msgbox(1)", "file:///etc/passwd"])
def test_unsafe_links_in_rss_and_json_feed_sources_never_reach_the_published_feeds(url):
    rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://s.example.org/</link>
    <description>d</description><item><title>A</title><link>{html.escape(url)}</link><guid>a-1</guid>
    <enclosure url="{html.escape(url)}" length="0" type="image/jpeg"/></item></channel></rss>"""
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Desk",
           "items": [{"id": "b-1", "url": url, "title": "B", "image": url, "content_text": "Body"}]}
    articles = [*extract(rss.encode(), "https://s.example.org/rss", source="desk"),
                *extract(json.dumps(doc).encode(), "https://s.example.org/feed.json", source="desk")]
    assert len(articles) == 2

    out = render_all(SPEC, articles, SETTINGS)

    published = every_published_url(out)
    assert all(safe_url(u) == u for u in published), published
    assert not any(url.split(":", 1)[0] + ":" in data.decode() for data in out.values())


def test_a_relative_link_in_a_source_is_published_resolved_against_the_source():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Desk", "home_page_url": "https://s.example.org/",
           "items": [{"id": "1", "url": "/news/a", "title": "A", "image": "img/a.jpg", "content_text": "x"}]}
    out = render_all(SPEC, extract(json.dumps(doc).encode(), "https://s.example.org/feed.json", source="d"), SETTINGS)
    item = json.loads(out["json"])["items"][0]
    assert item["url"] == "https://s.example.org/news/a" and item["image"] == "https://s.example.org/img/a.jpg"


# --- failure 7 (last part): no local paths in public output -----------------------------------------


def assert_no_local_path(out: dict[str, bytes]) -> None:
    for fmt, data in out.items():
        assert b"file:" not in data and b"/srv/news" not in data, fmt
    assert "link" not in read(out["rss"]).entries[0]
    assert not read(out["atom"]).entries[0].get("links")
    assert "url" not in json.loads(out["json"])["items"][0]


def test_a_plain_text_file_without_a_public_url_is_published_without_a_link():
    body = b"Kyiv Reopens Its Metro\n\nBy Olena Petrenko\n\nThe metro reopened on Monday after repairs.\n"
    articles = extract(body, "file:///srv/news/metro.txt", source="files")
    assert articles[0].url.startswith("file:")  # stored as it was found; never published

    assert_no_local_path(render_all(SPEC, articles, SETTINGS))


@pytest.mark.parametrize("url", ["metro.html", "/srv/news/metro.html", "file:///srv/news/metro.html"])
def test_a_json_lines_file_line_without_a_public_url_is_published_without_a_link(url):
    line = json.dumps({"url": url, "title": "Kyiv Reopens Its Metro", "body": "The metro reopened on Monday."})
    articles = extract(line.encode() + b"\n", "file:///srv/news/import.jsonl", source="files")

    out = render_all(SPEC, articles, SETTINGS)

    assert_no_local_path(out)
    atom = read(out["atom"]).entries[0]
    assert atom.title == "Kyiv Reopens Its Metro" and atom.content  # RFC 4287: no link, so content


# --- the digest --------------------------------------------------------------------------------------


def test_the_digest_drops_unsafe_links_and_images_and_falls_back_to_the_outlet():
    settings = digest_settings(logo_url="javascript:alert(1)", privacy_url="data:text/html,x")
    bad = [story(id=f"id{n}", title=f"Story {n}", url=url, canonical_url=url, image=url,
                 published_at=SEND_AT.replace(hour=1))
           for n, url in enumerate(["file:///srv/news/a.txt", "vbscript:msgbox(1)", "https://u:p@news.example.org/x"])]
    selection = select(bad, [], settings, SEND_AT)
    assert len(selection.items) == 3
    links = Links(public_url="https://news.example.org", feeds_url="https://news.example.org/feeds")

    rendered = render(selection, settings, edition_key="2026-W48", links=links)

    for doc in (rendered.html, rendered.text):
        assert "file:" not in doc and "vbscript" not in doc and "javascript" not in doc and "data:" not in doc
        assert "u:p@" not in doc
    assert set(rendered.article_urls) == {"https://news.example.org"}
    hrefs = [el.get("href") or el.get("src") for el in lxml.html.fromstring(rendered.html).iter()
             if isinstance(el.tag, str) and (el.get("href") or el.get("src"))]
    assert hrefs and all(safe_url(h) == h for h in hrefs if "fpslot" not in h), hrefs
