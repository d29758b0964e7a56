"""Publishing feeds from a real SQLite store into a folder: every feed, only changed ones, stable bytes,
stale feeds removed, the WebSub ping, and the `feedpipe feeds` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from werkzeug import Response

from feedpipe.app import App
from feedpipe.cli.context import Context
from feedpipe.cli.feeds import feeds as feeds_command
from feedpipe.core.clock import fixed_clock
from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import FeedSettings, Settings
from feedpipe.extract.urls import article_id, canonical_url
from feedpipe.feeds.publish import all_specs, publish_feeds
from feedpipe.feeds.websub import hub_pinger, websub_ping
from feedpipe.store import Store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = FeedSettings(public_url="https://news.example.org", title="Example News", max_entries=10)
POLITICS = TopicTag(code="medtop:11000000", label="politics", score=0.8)
WAR = TopicTag(code="medtop:16000000", label="conflict, war and peace", score=0.7)


def focus(code: str, name: str) -> CountryTag:
    return CountryTag(code=code, name=name, role="focus", score=0.9)


def story(n: int, *, countries=(), topics=(POLITICS,), section="news", title=None, url=None) -> Article:
    """An article as the extractor makes it: the id is the hash of the canonical URL."""
    url = url or f"https://news.example.org/2026/story-{n}"
    canonical = canonical_url(url)
    published = NOW - timedelta(hours=n)
    return Article(
        id=article_id(canonical),
        url=url,
        canonical_url=canonical,
        title=title or f"Story {n}",
        source="desk",
        summary=f"Summary {n}",
        content_html=f"<p>Body {n}</p>",
        published_at=published,
        updated_at=published,
        authors=("Desk",),
        section=section,
        countries=countries,
        topics=topics,
        language="en",
    )


@pytest.fixture
def store(tmp_path):
    store = Store.open("sqlite:///" + str(tmp_path / "feedpipe.db"), now=NOW)
    store.articles.upsert(
        [
            story(1, countries=(focus("UA", "Ukraine"),), topics=(POLITICS, WAR)),
            story(
                2,
                countries=(
                    focus("BY", "Belarus"),
                    CountryTag(code="UA", name="Ukraine", role="mention", score=0.1),
                ),
            ),
            story(3, countries=(focus("UA", "Ukraine"),), section="analysis"),
        ],
        now=NOW,
    )
    yield store
    store.close()


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def entry_titles(path: Path) -> list[str]:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return [e.title for e in parsed.entries]


def test_publish_writes_a_feed_set_per_tag_and_the_opml(store, tmp_path):
    out = tmp_path / "feeds"
    report = publish_feeds(store, out, SETTINGS, only_dirty=False)

    assert sorted(report.built) == [
        "all",
        "country/by",
        "country/ua",
        "section/analysis",
        "section/news",
        "topic/conflict-war-and-peace",
        "topic/politics",
    ]
    assert len(report.written) == 7 * 3 + 1
    assert entry_titles(out / "all.atom") == ["Story 1", "Story 2", "Story 3"]
    assert entry_titles(out / "country/ua.rss") == ["Story 1", "Story 3"]  # story 2 only mentions Ukraine
    assert entry_titles(out / "country/by.atom") == ["Story 2"]
    assert entry_titles(out / "topic/conflict-war-and-peace.rss") == ["Story 1"]
    assert entry_titles(out / "section/analysis.atom") == ["Story 3"]
    assert [i["title"] for i in json.loads((out / "topic/politics.json").read_bytes())["items"]] == [
        "Story 1",
        "Story 2",
        "Story 3",
    ]
    opml = (out / "index.opml").read_text()
    assert 'title="Example News: Belarus" xmlUrl="https://news.example.org/feeds/country/by.rss"' in opml
    assert store.catalogue.dirty_keys() == {}


def test_two_builds_are_byte_identical_and_unchanged_files_are_not_rewritten(store, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    publish_feeds(store, first, SETTINGS, only_dirty=False)
    before = mtimes(first)

    again = publish_feeds(store, first, SETTINGS, only_dirty=False)
    publish_feeds(store, second, SETTINGS, only_dirty=False)

    assert again.written == () and len(again.unchanged) == 22
    assert mtimes(first) == before
    assert {p: (first / p).read_bytes() for p in before} == {p: (second / p).read_bytes() for p in before}


def test_changed_rebuilds_only_the_feeds_whose_articles_changed(store, tmp_path):
    out = tmp_path / "feeds"
    publish_feeds(store, out, SETTINGS, only_dirty=False)
    before = mtimes(out)

    store.articles.upsert([story(0, countries=(focus("BY", "Belarus"),), section="news")], now=NOW)
    report = publish_feeds(store, out, SETTINGS, only_dirty=True)

    assert sorted(report.built) == ["all", "country/by", "section/news", "topic/politics"]
    changed = {p for p, t in mtimes(out).items() if before.get(p) != t}
    assert changed == {f"{stem}.{fmt}" for stem in report.built for fmt in ("rss", "atom", "json")}
    assert entry_titles(out / "country/by.rss") == ["Story 0", "Story 2"]
    assert publish_feeds(store, out, SETTINGS, only_dirty=True).built == ()  # nothing dirty any more


def test_changed_builds_everything_after_a_settings_change_or_a_lost_file(store, tmp_path):
    out = tmp_path / "feeds"
    publish_feeds(store, out, SETTINGS, only_dirty=True)  # first run: no fingerprint yet, so all
    (out / "country/by.json").unlink()

    assert publish_feeds(store, out, SETTINGS, only_dirty=True).built == ("country/by",)
    renamed = FeedSettings(public_url="https://news.example.org", title="Renamed News", max_entries=10)
    assert len(publish_feeds(store, out, renamed, only_dirty=True).built) == 7


def test_guid_survives_a_headline_edit_and_tracking_parameters(store, tmp_path):
    out = tmp_path / "feeds"
    publish_feeds(store, out, SETTINGS, only_dirty=False)
    old = feedparser.parse((out / "country/ua.atom").read_bytes()).entries[0]

    edited = story(
        1,
        countries=(focus("UA", "Ukraine"),),
        topics=(POLITICS, WAR),
        title="Story 1 (updated)",
        url="https://news.example.org/2026/story-1?utm_source=twitter&utm_medium=social",
    )
    result = store.articles.upsert([edited], now=NOW + timedelta(hours=1))
    publish_feeds(store, out, SETTINGS, only_dirty=True)
    atom = feedparser.parse((out / "country/ua.atom").read_bytes())
    rss = feedparser.parse((out / "country/ua.rss").read_bytes())

    assert result.updated == (edited.id,)
    assert [e.id for e in atom.entries] == [old.id, atom.entries[1].id]
    assert atom.entries[0].title == "Story 1 (updated)"
    assert atom.entries[0].link == "https://news.example.org/2026/story-1"  # canonical, no tracking
    assert rss.entries[0].id == old.id and rss.entries[0].guidislink is False
    assert atom.feed.updated_parsed[:6] == (NOW + timedelta(hours=1)).utctimetuple()[:6]


def test_control_characters_in_a_stored_article_never_break_its_feeds(store, tmp_path):
    bad = story(0, countries=(focus("UA", "Ukraine"),), title="Breaking\x00 news\x0b from\x1b Kyiv\ufffe")
    store.articles.upsert([bad], now=NOW)
    out = tmp_path / "feeds"

    publish_feeds(store, out, SETTINGS, only_dirty=False)

    assert entry_titles(out / "country/ua.atom")[0] == "Breaking news from Kyiv"
    assert entry_titles(out / "all.rss")[0] == "Breaking news from Kyiv"
    assert json.loads((out / "all.json").read_bytes())["items"][0]["title"] == "Breaking news from Kyiv"


def test_feeds_of_tags_no_longer_used_are_removed(store, tmp_path):
    out = tmp_path / "feeds"
    publish_feeds(store, out, SETTINGS, only_dirty=False)
    retagged = story(2, countries=(focus("UA", "Ukraine"),))
    store.articles.upsert([retagged], now=NOW)

    report = publish_feeds(store, out, SETTINGS, only_dirty=True)

    assert report.removed == ("country/by.atom", "country/by.json", "country/by.rss")
    assert not (out / "country/by.rss").exists()
    assert "country/by.rss" not in (out / "index.opml").read_text()
    assert "index.opml" in report.written


def test_all_specs_names_countries_and_topics_from_the_stored_tags(store):
    titles = {s.stem: s.title for s in all_specs(store, SETTINGS)}
    assert titles["country/by"] == "Example News: Belarus"
    assert titles["topic/conflict-war-and-peace"] == "Example News: conflict, war and peace"
    assert titles["section/analysis"] == "Example News: Analysis"


def test_the_websub_hub_is_pinged_for_every_changed_feed(store, tmp_path, httpserver):
    httpserver.expect_request("/hub", method="POST").respond_with_data("", status=204)
    hub = httpserver.url_for("/hub")
    settings = FeedSettings(public_url="https://news.example.org", title="Example News", websub_hub=hub)
    out = tmp_path / "feeds"
    publish_feeds(store, out, settings, only_dirty=False)

    store.articles.upsert([story(0, countries=(focus("BY", "Belarus"),))], now=NOW)
    report = publish_feeds(store, out, settings, only_dirty=True, ping=hub_pinger(hub))

    posted = [request.form for request, _ in httpserver.log]
    assert {f["hub.mode"] for f in posted} == {"publish"}
    assert sorted(f["hub.url"] for f in posted) == sorted(report.pinged)
    assert "https://news.example.org/feeds/country/by.atom" in report.pinged
    assert len(report.pinged) == 4 * 3 and report.ping_errors == ()
    assert (out / "all.atom").read_text().count(f'href="{hub}" rel="hub"') == 1


def test_a_failing_hub_is_reported_not_raised(store, tmp_path, httpserver):
    httpserver.expect_request("/hub", method="POST").respond_with_response(Response("busy", status=503))
    hub = httpserver.url_for("/hub")
    settings = FeedSettings(public_url="https://news.example.org", websub_hub=hub)

    report = publish_feeds(store, tmp_path / "feeds", settings, only_dirty=False, ping=hub_pinger(hub))

    assert report.pinged == () and len(report.ping_errors) == 21
    assert "HTTP 503" in report.ping_errors[0]
    assert (tmp_path / "feeds" / "all.atom").exists()


def test_websub_ping_posts_the_form_a_hub_expects(httpserver):
    httpserver.expect_oneshot_request(
        "/hub",
        method="POST",
        data="hub.mode=publish&hub.url=https%3A%2F%2Fnews.example.org%2Ffeeds%2Fall.atom",
    ).respond_with_data("", status=202)
    websub_ping(httpserver.url_for("/hub"), "https://news.example.org/feeds/all.atom")
    httpserver.check_assertions()


def test_feeds_command_builds_into_the_configured_folder(store, tmp_path):
    settings = Settings(feeds=SETTINGS, public_dir=tmp_path / "public")
    obj = Context(None, None, quiet=False, app=App(settings, clock=fixed_clock(NOW), store=store))
    runner = CliRunner()

    result = runner.invoke(feeds_command, [], obj=obj)
    again = runner.invoke(feeds_command, ["--changed"], obj=obj)
    other = runner.invoke(feeds_command, ["--out", str(tmp_path / "elsewhere")], obj=obj)

    assert result.exit_code == 0, result.output
    assert "7 feeds built: 22 files written" in result.output
    assert "0 feeds built: 0 files written, 1 unchanged" in again.output
    assert (tmp_path / "public/feeds/country/ua.atom").exists()
    assert other.exit_code == 0 and (tmp_path / "elsewhere/index.opml").exists()


def test_publish_reads_sqlite_and_postgresql_alike(any_store, tmp_path):
    """The same queries on both databases (PostgreSQL when FEEDPIPE_TEST_PG_URL is set)."""
    any_store.articles.upsert(
        [story(1, countries=(focus("UA", "Ukraine"),)), story(2, topics=(WAR,))], now=NOW
    )
    out = tmp_path / "feeds"

    report = publish_feeds(any_store, out, SETTINGS, only_dirty=True)

    assert sorted(report.built) == [
        "all",
        "country/ua",
        "section/news",
        "topic/conflict-war-and-peace",
        "topic/politics",
    ]
    assert entry_titles(out / "all.atom") == ["Story 1", "Story 2"]
    assert entry_titles(out / "topic/conflict-war-and-peace.rss") == ["Story 2"]


def test_the_report_reads_as_one_line(store, tmp_path):
    report = publish_feeds(store, tmp_path / "feeds", SETTINGS, only_dirty=False)
    assert str(report) == "7 feeds built: 22 files written, 0 unchanged, 0 removed"


def test_all_over_an_unchanged_store_renders_nothing_and_repairs_a_hand_edited_file(store, tmp_path):
    out = tmp_path / "feeds"
    first = publish_feeds(store, out, SETTINGS, only_dirty=False)

    idle = publish_feeds(store, out, SETTINGS, only_dirty=False)
    (out / "country/ua.rss").write_bytes(b"edited by hand")
    repaired = publish_feeds(store, out, SETTINGS, only_dirty=False)

    assert idle.built == () and idle.written == () and len(idle.unchanged) == len(first.written)
    assert repaired.built == ("country/ua",) and repaired.written == ("country/ua.rss",)
    assert (out / "country/ua.rss").read_bytes().startswith(b"<?xml")


def test_all_rebuilds_the_feeds_a_new_article_changed(store, tmp_path):
    out = tmp_path / "feeds"
    publish_feeds(store, out, SETTINGS, only_dirty=False)
    store.articles.upsert([story(40, countries=(focus("UA", "Ukraine"),))], now=NOW)

    report = publish_feeds(store, out, SETTINGS, only_dirty=False)

    assert "all" in report.built and "country/ua" in report.built and "country/by" not in report.built
    assert "country/ua.rss" in report.written
