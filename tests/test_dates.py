"""Dates a reader can trust: read in any language, found in page metadata or the URL, never made up.

An undated article keeps no published date (the store remembers when it first saw it), is never
ranked into a digest unless an editor picks it, and an old or undated backfill never heads the feeds."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import text

from feedpipe.core.settings import DigestSettings, FeedSettings
from feedpipe.digest.build import load_edition
from feedpipe.digest.editions import current_edition, edition_window
from feedpipe.extract import dates
from feedpipe.extract.dates import FUTURE_SKEW, date_from_url, parse_date
from feedpipe.extract.feed import parse_feed
from feedpipe.extract.jsonl import parse_jsonl
from feedpipe.extract.page import parse_page
from feedpipe.extract.text import parse_text
from feedpipe.feeds.publish import publish_feeds
from feedpipe.store import Store

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # a Thursday evening: edition 2026-W48 goes out tomorrow
FEEDS = FeedSettings(public_url="https://news.example.org", title="Example News", max_entries=20)
DIGEST = DigestSettings(public_url="https://news.example.org")


def rss(*items: str, language: str = "") -> bytes:
    lang = f"<language>{language}</language>" if language else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
            f"<link>https://desk.example.org/</link><description>d</description>{lang}"
            + "".join(items) + "</channel></rss>").encode()


def item(slug: str, *, date: str | None = None, link: str | None = None, title: str | None = None) -> str:
    when = f"<pubDate>{date}</pubDate>" if date else ""
    return (f"<item><title>{title or slug.replace('-', ' ').capitalize()}</title>"
            f"<link>{link or f'https://desk.example.org/news/{slug}'}</link><guid isPermaLink=\"false\">{slug}</guid>{when}"
            f"<description>Officials said talks on {slug} would continue next week.</description></item>")


def rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


# -- reading dates ------------------------------------------------------------------------------------


def test_a_portuguese_rss_date_is_read_where_feedparser_gives_up():
    (article,) = parse_feed(rss(item("ibope", date="Seg, 24 Set 2018 19:42:40 -0300")),
                            "https://desk.example.org/rss", source="uol")

    assert article.published_at == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)


def test_the_feeds_language_is_tried_first_and_any_language_is_read_without_one():
    assert parse_date("24 septembre 2018 10:15", language="fr-FR") == datetime(2018, 9, 24, 10, 15, tzinfo=UTC)
    assert parse_date("3 de mayo de 2022") == datetime(2022, 5, 3, tzinfo=UTC)
    assert parse_date("Mi., 14. Mai 2023 10:00", language="de") == datetime(2023, 5, 14, 10, 0, tzinfo=UTC)


def test_the_fast_parsers_never_ask_dateparser(monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser asked for a date the fast parsers read")

    monkeypatch.setattr(dates, "_parser", refuse)
    dates._slow.cache_clear()
    assert parse_date("Thu, 26 Nov 2026 07:40:00 GMT") == datetime(2026, 11, 26, 7, 40, tzinfo=UTC)
    assert parse_date("2026-11-26T07:40:00+01:00") == datetime(2026, 11, 26, 6, 40, tzinfo=UTC)
    assert parse_date("2026-11-26") == datetime(2026, 11, 26, tzinfo=UTC)


def test_dates_that_would_need_a_clock_or_a_guess_are_not_dates():
    assert parse_date("2 hours ago") is None  # relative: a parser has no "now"
    assert parse_date("Sep 24") is None  # no year: dateparser would take this year from the system clock
    assert parse_date("hoje") is None
    assert parse_date("Breaking: talks stall in Geneva after 12 hours of negotiations over the ceasefire") is None


def test_an_undated_feed_item_has_no_date():
    (article,) = parse_feed(rss(item("no-date")), "https://desk.example.org/rss", source="desk")

    assert article.published_at is None


def test_a_date_only_in_the_url_path_is_the_items_day():
    (dated,) = parse_feed(rss(item("x", link="https://desk.example.org/2023/05/14/world/talks-stall")),
                          "https://desk.example.org/rss", source="desk")

    assert dated.published_at == datetime(2023, 5, 14, tzinfo=UTC)
    assert date_from_url("https://www.cnn.com/cnn-underscored/deals/wayfair-way-day-2023-04-17?iid=x") == datetime(
        2023, 4, 17, tzinfo=UTC)
    assert date_from_url("https://desk.example.org/2023/02/30/x") is None  # no such day
    assert date_from_url("https://2023-05-14.example.org/story") is None  # the host is not the path
    assert date_from_url("https://desk.example.org/story?from=2023-05-14") is None  # nor the query
    assert date_from_url("https://desk.example.org/news/12023-05-140") is None  # digits around it: an id


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Talks stall in Geneva</title>
{meta}</head><body><article><h1>Talks stall in Geneva</h1>
<p>Negotiators from both sides left the Palais des Nations on Wednesday without an agreement, and the
mediators said the next round would not start before the end of the month.</p>
<p>The delegations disagreed over the sequencing of a ceasefire and the exchange of prisoners, according
to two officials who were in the room and spoke on condition of anonymity.</p>
<p>Both sides said they remained committed to the process, but neither would say when it might resume,
and the mediators declined to comment on the substance of the talks.</p>
</article></body></html>"""


@pytest.mark.parametrize("meta", [
    '<meta property="article:published_time" content="2026-11-25T14:30:00+01:00">',
    '<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
    '"headline": "Talks stall in Geneva", "datePublished": "2026-11-25T13:30:00Z"}</script>',
], ids=["article:published_time", "json-ld datePublished"])
def test_a_date_only_in_the_pages_metadata_is_its_published_time(meta):
    page = parse_page(PAGE.format(meta=meta).encode(), "https://desk.example.org/news/talks-stall", source="p")

    assert page.published_at == datetime(2026, 11, 25, 13, 30, tzinfo=UTC)


def test_an_undated_page_has_no_date_and_a_dated_url_gives_its_day():
    body = PAGE.format(meta="").encode()
    assert parse_page(body, "https://desk.example.org/news/talks-stall", source="p").published_at is None
    assert parse_page(body, "https://desk.example.org/2026/11/24/talks-stall", source="p").published_at == datetime(
        2026, 11, 24, tzinfo=UTC)


def test_json_lines_and_plain_text_read_dates_in_their_language():
    line = json.dumps({"url": "https://desk.example.org/x", "title": "Eleições", "language": "pt",
                       "published": "24 de setembro de 2018 19:42", "body": "Texto da notícia."})
    (articles, errors) = parse_jsonl(line.encode(), "desk.jsonl", source="j")
    assert errors == [] and articles[0].published_at == datetime(2018, 9, 24, 19, 42, tzinfo=UTC)

    letter = "Les négociations échouent à Genève\n\n24 septembre 2018\n\nLes délégations se sont séparées sans accord.\n"
    assert parse_text(letter.encode(), "/tmp/desk/lettre.txt", source="t").published_at == datetime(
        2018, 9, 24, tzinfo=UTC)


# -- storing and selecting ------------------------------------------------------------------------------


@pytest.fixture
def desk(any_store):
    """A real store: SQLite, and PostgreSQL when FEEDPIPE_TEST_PG_URL names a server."""
    return any_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def ingest(store: Store, body: bytes, *, source: str = "desk", now: datetime = NOW) -> None:
    store.articles.upsert(parse_feed(body, "https://desk.example.org/rss", source=source), now=now)


def test_an_undated_article_keeps_no_date_and_remembers_when_it_was_first_seen(desk):
    ingest(desk, rss(item("no-date")))

    (stored,) = desk.articles.query()
    assert stored.published_at is None and stored.first_seen_at == NOW
    ingest(desk, rss(item("no-date")), now=NOW + timedelta(days=2))  # seen again later: still undated
    assert desk.articles.get(stored.id).published_at is None
    assert desk.articles.get(stored.id).first_seen_at == NOW


def test_a_date_in_the_future_is_clamped_to_the_first_seen_time_and_logged(desk, caplog):
    within = NOW + FUTURE_SKEW - timedelta(hours=1)
    with caplog.at_level(logging.WARNING, logger="feedpipe.extract.dates"):
        ingest(desk, rss(item("next-year", date=rfc822(NOW + timedelta(days=300))),
                         item("tonight", date=rfc822(within))))

    by_guid = {a.guid: a for a in desk.articles.query()}
    assert by_guid["next-year"].published_at == NOW
    assert by_guid["tonight"].published_at == within  # within the skew: kept
    assert "in the future" in caplog.text and "next-year" in caplog.text
    ingest(desk, rss(item("next-year", date=rfc822(NOW + timedelta(days=300)))), now=NOW + timedelta(hours=5))
    assert desk.articles.get(by_guid["next-year"].id).published_at == NOW  # stable: the first-seen time


def test_a_backfill_never_enters_this_weeks_edition_unless_an_editor_picks_it(desk):
    key = current_edition(NOW, DIGEST)
    start, end = edition_window(key, DIGEST)
    archive = [item(f"archive-{n}", date=rfc822(start - timedelta(days=30 + n))) for n in range(5)]
    undated = [item(f"undated-{n}") for n in range(3)]
    ingest(desk, rss(*archive, *undated))  # the source's first ingest
    ingest(desk, rss(item("this-week", date=rfc822(NOW - timedelta(hours=3)))), source="wire")
    undated_id = next(a.id for a in desk.articles.query() if a.guid == "undated-1")
    desk.editions.pick(key, undated_id, "An editor vouches for this one")

    edition = load_edition(desk, DIGEST, key, NOW, feeds_public_url="https://news.example.org/feeds")

    assert [i.article.guid for i in edition.general.ranked] == ["this-week"]
    assert [i.article.guid for i in edition.general.picks] == ["undated-1"]


def test_undated_items_of_a_first_ingest_sit_below_dated_news_in_all_json(desk, tmp_path):
    old_news = NOW - timedelta(days=400)
    ingest(desk, rss(item("undated-backfill"), item("old-news", date=rfc822(old_news))))
    ingest(desk, rss(item("fresh", date=rfc822(NOW - timedelta(hours=1)))), source="wire")
    later = NOW + timedelta(hours=2)  # the desk's second ingest: an undated item is new *now*
    ingest(desk, rss(item("undated-backfill"), item("old-news", date=rfc822(old_news)), item("undated-new")),
           now=later)

    publish_feeds(desk, tmp_path / "feeds", FEEDS, only_dirty=False)

    items = json.loads((tmp_path / "feeds" / "all.json").read_bytes())["items"]
    guids = [desk.articles.get(unquote(i["id"].rsplit(":", 1)[1])).guid for i in items]
    assert guids == ["undated-new", "fresh", "old-news", "undated-backfill"]
    shown = {g: i["date_published"] for g, i in zip(guids, items, strict=True)}
    assert shown["undated-backfill"] == "2026-11-26T18:00:00Z"  # an undated entry shows when it was first seen
    assert shown["undated-new"] == "2026-11-26T20:00:00Z"


def test_migration_300_gives_old_made_up_dates_back_their_null(store_url):
    url = store_url
    store = Store.open(url, now=NOW)
    ingest(store, rss(item("undated"), item("dated", date=rfc822(NOW - timedelta(days=3)))))
    with store.db.write() as conn:  # as the store wrote them before v300: "published now", no sort_at
        conn.execute(text("UPDATE articles SET published_at = first_seen_at, sort_at = NULL WHERE guid = 'undated'"))
        conn.execute(text("UPDATE articles SET sort_at = NULL"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version = 300"))
    store.close()

    store = Store.open(url, now=NOW)
    by_guid = {a.guid: a for a in store.articles.query()}
    store.close()
    assert by_guid["undated"].published_at is None
    assert by_guid["dated"].published_at == NOW - timedelta(days=3)
    assert list(by_guid) == ["dated", "undated"]


def test_an_undated_item_of_a_full_text_feed_takes_its_pages_date(httpserver, tmp_path):
    from feedpipe.app import App
    from feedpipe.config import load_settings
    from feedpipe.ingest import ingest as run_ingest

    meta = '<meta property="article:published_time" content="2026-11-25T13:30:00Z">'
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/news/talks-stall").respond_with_data(PAGE.format(meta=meta),
                                                                     content_type="text/html")
    httpserver.expect_request("/rss").respond_with_data(
        rss(item("talks", link=httpserver.url_for("/news/talks-stall"))), content_type="application/rss+xml")
    cfg = tmp_path / "feedpipe.toml"
    cfg.write_text(f'[store]\npath = "var/f.db"\n[fetch]\nallow_private_addresses = true\n'
                   f'[[sources]]\nname = "desk"\ntype = "feed"\nurl = "{httpserver.url_for("/rss")}"\n'
                   f"full_text = true\n", encoding="utf-8")
    app = App(load_settings(cfg, cwd=tmp_path), clock=lambda: NOW)

    run_ingest(app, now=NOW)

    (stored,) = app.store.articles.query(source="desk")
    assert stored.published_at == datetime(2026, 11, 25, 13, 30, tzinfo=UTC)


def test_a_first_ingest_stored_one_by_one_is_still_a_backfill(desk):
    articles = parse_feed(rss(item("undated"), item("dated", date=rfc822(NOW - timedelta(days=400)))),
                          "https://desk.example.org/rss", source="desk")
    bad = replace(articles[1], id="bad", url="https://desk.example.org/bad",
                  published_at=NOW.replace(tzinfo=None))  # naive: the store refuses the batch, then this one

    _, errors = desk.articles.upsert_each([articles[1], bad, articles[0]], now=NOW)

    assert len(errors) == 1
    assert [a.guid for a in desk.articles.query()] == ["dated", "undated"]
