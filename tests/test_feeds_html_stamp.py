"""Stored HTML is published without a second nh3 pass only when the store stamped it as clean under the
current policy; anything else (rows stored before the stamp existed, an older policy, HTML edited behind
the store's back) is sanitised again when published, so untrusted content stays inert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import update

import feedpipe.feeds.entries as entries_module
import feedpipe.ingest as ingest_service
from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.core.html import sanitize_html
from feedpipe.core.html_stamp import html_stamp
from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.extract.clean import POLICY_VERSION
from feedpipe.feeds import prepare_entries
from feedpipe.feeds.publish import publish_feeds
from feedpipe.store import Store
from feedpipe.store.schema import articles
from tests.conftest import make_article
from tests.httpfixtures import local_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = FeedSettings(public_url="https://news.example.org", title="Example News", max_entries=10)
UNSAFE = (
    '<p onclick="steal()">Hello <script>alert(1)</script><a href="javascript:alert(2)">x</a>'
    '<img src="/pic.jpg" onerror="alert(3)"></p><iframe src="https://evil.example/"></iframe>'
)


def stored(store: Store, url: str, html: str) -> Article:
    article = make_article(url, content_html=html)
    store.articles.upsert([article], now=NOW)
    found = store.articles.get(article.id)
    assert found is not None
    return found


def set_row(store: Store, article_id: str, **values: object) -> None:
    """Change a stored row behind the store's back, as an older feedpipe or a hand edit would leave it."""
    with store.db.write() as conn:  # the test plays a writer that is not the store
        conn.execute(update(articles).where(articles.c.id == article_id).values(**values))


def published_content(out: Path) -> str:
    """The one entry's content as the JSON feed publishes it (the same HTML goes into RSS and Atom)."""
    items = json.loads((out / "all.json").read_text(encoding="utf-8"))["items"]
    assert len(items) == 1
    return str(items[0]["content_html"])


# --- what the store records ---------------------------------------------------------------------


def test_clean_html_is_stamped_with_the_current_policy_when_stored(store):
    clean = sanitize_html('<p>Talks <a href="https://example.org/ref">resume</a></p>', "https://news.example.org/a/1")

    article = stored(store, "https://news.example.org/a/1", clean)

    assert article.html_policy is not None
    assert article.html_policy.startswith(f"{POLICY_VERSION}:")
    assert article.html_policy == html_stamp(article)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(UNSAFE, id="never sanitised"),
        pytest.param('<p><a href="/ref" rel="noopener nofollow">x</a></p>', id="a relative link the feed resolves"),
        pytest.param("<pre>\ncode</pre>", id="nh3 output that a second pass changes"),
    ],
)
def test_html_the_publish_pass_would_change_is_not_stamped(store, html):
    article = stored(store, "https://news.example.org/a/2", html)

    assert article.html_policy is None


def test_ingest_stores_the_stamp_with_the_sanitised_html(httpserver: HTTPServer, tmp_path, now):
    rss = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Local</title>
<link>https://example.org/</link><description>d</description>
<item><title>Talks resume</title><link>https://example.org/story</link><guid>a</guid>
<pubDate>Thu, 26 Nov 2026 07:40:00 +0000</pubDate><description>Talks resume next week.</description>
<content:encoded><![CDATA[{UNSAFE}<p>Officials said <a href="/ref">talks</a> resume.</p>]]></content:encoded></item>
</channel></rss>"""
    httpserver.expect_request("/feed.xml").respond_with_data(rss, content_type="application/rss+xml")
    cfg = local_config(tmp_path, f'[[sources]]\nname = "local"\ntype = "feed"\nurl = "{httpserver.url_for("/feed.xml")}"\n')
    app = App(load_settings(cfg, cwd=cfg.parent), clock=lambda: now)

    ingest_service.ingest(app, now=now)

    [article] = app.store.articles.query()
    assert "<script" not in article.content_html and "onerror" not in article.content_html
    assert f'href="{httpserver.url_for("/ref")}"' in article.content_html  # resolved at ingest: a fixed point
    assert article.html_policy == html_stamp(article) and article.html_policy is not None
    assert article.html_policy.startswith(f"{POLICY_VERSION}:")


# --- what a feed publishes ------------------------------------------------------------------------


def test_html_of_a_row_stored_before_the_stamp_existed_is_sanitised_when_published(store, tmp_path):
    article = stored(store, "https://news.example.org/a/3", sanitize_html("<p>fine</p>"))
    set_row(store, article.id, content_html=UNSAFE, html_policy=None)

    publish_feeds(store, tmp_path / "feeds", SETTINGS, only_dirty=False)

    content = published_content(tmp_path / "feeds")
    assert content == sanitize_html(UNSAFE, "https://news.example.org/a/3")
    for active in ("<script", "onclick", "onerror", "javascript:", "<iframe"):
        assert active not in content
    assert 'src="https://news.example.org/pic.jpg"' in content  # the relative image resolved against the link
    for name in ("all.rss", "all.atom"):
        assert "&lt;script" not in (tmp_path / "feeds" / name).read_text(encoding="utf-8")


def test_a_stamp_of_an_older_policy_or_of_other_html_does_not_spare_the_html(store, tmp_path):
    """A stamp holds only for the policy, link and bytes it was made from: HTML changed behind the store's
    back (its stamp left as it was), or stamped by an older policy, is sanitised again."""
    clean = sanitize_html("<p>fine</p>")
    article = stored(store, "https://news.example.org/a/4", clean)
    assert article.html_policy is not None
    older = "0" * len(POLICY_VERSION) + article.html_policy[len(POLICY_VERSION):]

    set_row(store, article.id, content_html=UNSAFE)  # the stamp of `clean` stays on the row
    publish_feeds(store, tmp_path / "edited", SETTINGS, only_dirty=False)
    set_row(store, article.id, html_policy=older, content_html="<pre>\nkept?</pre>")
    publish_feeds(store, tmp_path / "older", SETTINGS, only_dirty=False)

    assert published_content(tmp_path / "edited") == sanitize_html(UNSAFE, "https://news.example.org/a/4")
    assert published_content(tmp_path / "older") == "<pre>kept?</pre>"  # what nh3 makes of it


def test_stamped_html_is_published_as_stored_without_a_second_pass(store, tmp_path, monkeypatch):
    article = stored(store, "https://news.example.org/a/5", sanitize_html("<p>Talks <em>resume</em></p>"))
    assert article.html_policy is not None
    calls: list[str] = []

    def counting(html: str, base_url: str | None = None) -> str:
        calls.append(html)
        return sanitize_html(html, base_url)

    monkeypatch.setattr(entries_module, "sanitize_html", counting)
    publish_feeds(store, tmp_path / "feeds", SETTINGS, only_dirty=False)

    assert calls == []
    assert published_content(tmp_path / "feeds") == "<p>Talks <em>resume</em></p>"


def test_the_stamp_migration_leaves_older_rows_unstamped(tmp_path):
    """A store from before migration 360 gets the column; its rows stay NULL, so their HTML is sanitised
    when published, as before."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url, now=NOW)
    article = stored(store, "https://news.example.org/a/6", sanitize_html("<p>old</p>"))
    with store.db.write() as conn:  # make it the store an older feedpipe left
        conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN html_policy")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version = 360")
    store.close()

    reopened = Store.open(url, now=NOW)
    try:
        found = reopened.articles.get(article.id)
        assert found is not None and found.content_html == "<p>old</p>"
        assert found.html_policy is None
    finally:
        reopened.close()


def test_stamps_round_trip_on_sqlite_and_postgresql(any_store, tmp_path):
    article = stored(any_store, "https://news.example.org/a/7", sanitize_html('<p><a href="https://x.example/">x</a></p>'))
    assert article.html_policy == html_stamp(article) and article.html_policy is not None

    publish_feeds(any_store, tmp_path / "feeds", SETTINGS, only_dirty=False)

    assert published_content(tmp_path / "feeds") == article.content_html


# --- the same bytes either way ---------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "<p>", "</p>", "<pre>", "\n", "<a href=\"/rel\">", "<a href='https://x.example/a b'>", "</a>", "<b>", "</b>",
    "<table><tr><td>", "</td></tr></table>", "<img src=x onerror=alert(1)>", "<script>x()</script>", "&amp;",
    "&lt;", "<", ">", "\"", "<!-- c -->", "text", " ", "é", "\x00", "\x0b", "<div>", "</div>", "<br>",
    "<a href=\"javascript:x\">", "<math><mi>", "<svg><p>", "<noscript><p>", "<textarea>", "<p title='\"'>",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.lists(FRAGMENTS, max_size=25).map("".join), link=st.sampled_from(
    ["https://news.example.org/a/8", "ftp://nope.example/", ""]))
def test_an_entry_is_the_same_whether_its_html_was_stamped_or_sanitised_again(raw, link):
    """Whatever HTML reached the store, sanitised by ingest or not: publishing the stamped row gives the
    bytes the second nh3 pass gives."""
    for html in (raw, sanitize_html(raw, link or None)):
        article = Article(id="a8", url=link, canonical_url=link, title="t", source="s", content_html=html)
        stamped = Article(id="a8", url=link, canonical_url=link, title="t", source="s", content_html=html,
                          html_policy=html_stamp(article))

        [plain] = prepare_entries([article], SETTINGS)
        [fast] = prepare_entries([stamped], SETTINGS)

        assert fast.content == plain.content


def test_the_stamp_is_made_only_for_rows_written(tmp_path, monkeypatch):
    """An nh3 pass per article stored, none for an article fetched again unchanged (most of each run)."""
    import feedpipe.store.article_write as store_articles

    made: list[str] = []
    monkeypatch.setattr(store_articles, "html_stamp", lambda a: made.append(a.url) or html_stamp(a))
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}", now=NOW_STAMP)
    story = make_article("https://news.example.org/a/1", content_html="<p>Talks went on.</p>")
    store.articles.upsert([story], now=NOW_STAMP)
    store.articles.upsert([story], now=NOW_STAMP)  # unchanged: nothing written, nothing to stamp
    assert made == [story.url] and store.articles.get(story.id).html_policy is not None
    store.articles.upsert([make_article(story.url, title="Talks go on", content_html="<p>Talks went on.</p>")],
                          now=NOW_STAMP)
    assert made == [story.url, story.url]  # an update is stamped again
    store.close()


NOW_STAMP = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
