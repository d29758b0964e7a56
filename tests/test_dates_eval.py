"""Issue 11's check on real material: the 5 news-outlet feeds and 28 article pages of the evaluation data
(plus UOL's Portuguese-dated feed and a desk feed of our own), served from 127.0.0.1 and ingested into a
fresh store at a fixed `now`. The week's digest preview holds only that week's articles, and the newest
20 entries of all.json are all dated in that week: no undated or old backfill heads them.

Reads $FEEDPIPE_EVAL_DATA (default ../shared/data beside the repository); skipped when it is absent."""

from __future__ import annotations

import html
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest
from pytest_httpserver import HTTPServer

from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.digest.build import load_edition
from feedpipe.digest.editions import current_edition
from feedpipe.extract.urls import canonical_url
from feedpipe.ingest import ingest
from feedpipe.pipeline import build_digest_preview, publish_feeds

DATA = Path(os.environ.get("FEEDPIPE_EVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
OUTLET_FEEDS = DATA / "feeds" / "real" / "news-outlets"
PAGES = DATA / "pages" / "news-outlets"
UOL = DATA / "feeds" / "real" / "rss-parser" / "uolNoticias.rss"

pytestmark = pytest.mark.skipif(
    not (OUTLET_FEEDS.is_dir() and PAGES.is_dir()),
    reason=f"no evaluation data at {DATA} (set FEEDPIPE_EVAL_DATA to the shared data folder: it holds "
           "feeds/real/news-outlets and pages/news-outlets)")

# Thursday evening of the week the BBC front page and NYT World feeds were captured (their newest items
# are from 8 August 2024, 19:17 UTC): edition 2024-W32, sent Friday 9 August 08:00 UTC.
NOW = datetime(2024, 8, 8, 20, 0, tzinfo=UTC)

DESK = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>
<link>https://desk.example.org/</link><description>Our own desk</description>
<item><title>Desk: Ceasefire talks resume in Cairo</title><link>https://desk.example.org/news/cairo-talks</link>
<pubDate>Thu, 08 Aug 2024 16:00:00 +0000</pubDate><description>Delegations returned to Cairo.</description></item>
<item><title>Desk: Eleições municipais entram na reta final</title><link>https://desk.example.org/news/eleicoes</link>
<pubDate>Qua, 07 Ago 2024 10:30:00 -0300</pubDate><description>Campanhas intensificam agendas.</description></item>
<item><title>Desk: An evergreen explainer with no date at all</title>
<link>https://desk.example.org/explainers/how-elections-work</link><description>How it works.</description></item>
</channel></rss>"""


def dated_in(start: datetime, end: datetime) -> set[str]:
    """The truth, read without feedpipe: canonical URLs of the items whose own date (feedparser's, and
    the desk's Portuguese item, which feedparser cannot read) lies in [start, end). No page of the data
    is from 2024, and UOL's feed is from 2018."""
    found = {canonical_url("https://desk.example.org/news/eleicoes")}  # Qua, 07 Ago 2024 10:30:00 -0300
    for body in [DESK.encode(), *(f.read_bytes() for f in OUTLET_FEEDS.glob("*.rss"))]:
        for e in feedparser.parse(body).entries:
            t = e.get("published_parsed")
            if t and start <= datetime(*t[:6], tzinfo=UTC) < end:
                found.add(canonical_url(e.link))
    return found


def config(tmp_path: Path, server: HTTPServer) -> Path:
    sources = [("desk", "feed", "/desk.rss"), ("uol", "feed", "/uol.rss")]
    sources += [(f.stem, "feed", f"/feeds/{f.name}") for f in sorted(OUTLET_FEEDS.glob("*.rss"))]
    sources += [(f"page-{f.stem}", "page", f"/pages/{f.name}") for f in sorted(PAGES.glob("*.html"))]
    blocks = "".join(f'[[sources]]\nname = "{name}"\ntype = "{kind}"\nurl = "{server.url_for(path)}"\n'
                     for name, kind, path in sources)
    cfg = tmp_path / "feedpipe.toml"
    cfg.write_text(f"""
[store]
path = "var/feedpipe.db"
[paths]
public = "public"
[fetch]
allow_private_addresses = true  # the sources are served from 127.0.0.1
[feeds]
max_entries = 50
[digest]
public_url = "https://news.example.org"
{blocks}""", encoding="utf-8")
    return cfg


@pytest.fixture
def week(httpserver: HTTPServer, tmp_path: Path) -> App:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/desk.rss").respond_with_data(DESK, content_type="application/rss+xml")
    if UOL.is_file():
        httpserver.expect_request("/uol.rss").respond_with_data(UOL.read_bytes(), content_type="application/rss+xml")
    for f in OUTLET_FEEDS.glob("*.rss"):
        httpserver.expect_request(f"/feeds/{f.name}").respond_with_data(f.read_bytes(),
                                                                        content_type="application/rss+xml")
    for f in PAGES.glob("*.html"):
        httpserver.expect_request(f"/pages/{f.name}").respond_with_data(f.read_bytes(), content_type="text/html")
    app = App(load_settings(config(tmp_path, httpserver), cwd=tmp_path), clock=lambda: NOW)
    ingest(app, now=NOW)
    return app


def test_the_weeks_digest_and_the_newest_feed_entries_hold_only_that_weeks_articles(week: App):
    settings = week.settings
    key = current_edition(NOW, settings.digest)
    assert key == "2024-W32"
    preview = build_digest_preview(week, now=NOW).read_text(encoding="utf-8")
    edition = load_edition(week.store, settings.digest, key, NOW, feeds_public_url=settings.feeds_public_url)
    start, end = edition.edition.window_start, edition.edition.window_end
    assert start is not None and end is not None and end - start == timedelta(days=7)
    stored = week.store.articles.query()
    assert len(stored) > 250  # the 5 feeds, 28 pages, UOL and the desk were all read
    truth = dated_in(start, end)
    assert len(truth) > 50
    in_week = {a.id for a in stored if a.canonical_url in truth}

    chosen = edition.general.items
    assert len(chosen) >= 6  # the week has plenty of dated news: the edition is not empty
    assert all(item.article.id in in_week for item in chosen), [
        (i.article.title, i.article.published_at) for i in chosen if i.article.id not in in_week]
    outside = [a for a in stored if a.id not in in_week and len(a.title) > 30]
    assert not [a.title for a in outside if html.escape(a.title, quote=False) in preview]

    publish_feeds(week, now=NOW)
    items = json.loads((settings.feeds_dir / "all.json").read_bytes())["items"]
    newest = [week.store.articles.get(unquote(i["id"].rsplit(":", 1)[1])) for i in items[:20]]
    assert all(a is not None and a.id in in_week for a in newest), [
        (a.title, a.published_at) for a in newest if a is not None and a.id not in in_week]


def test_the_real_feeds_dates_are_read_and_none_is_made_up(week: App):
    assert [a for a in week.store.articles.query() if a.published_at is None], "undated items stay undated"
    by_source: dict[str, list[datetime | None]] = {}
    for a in week.store.articles.query():
        by_source.setdefault(a.source, []).append(a.published_at)
    if UOL.is_file():
        assert all(d is not None and d.year == 2018 for d in by_source["uol"])  # "Seg, 24 Set 2018" is read
    cnn = by_source["cnn_hp_hero_2024-08"]
    assert sum(d is None for d in cnn) >= 5  # no pubDate and no date in the URL: undated, not "now"
    assert all(d is None or d.year == 2023 for d in cnn)  # the others by pubDate or the URL path (/2023/04/18/)
    assert all(d is not None and d.year < 2024 for d in
               [d for name, ds in by_source.items() if name.startswith("page-") for d in ds])
    desk = {a.title: a.published_at for a in week.store.articles.query(source="desk")}
    assert desk["Desk: Eleições municipais entram na reta final"] == datetime(2024, 8, 7, 13, 30, tzinfo=UTC)
    assert desk["Desk: An evergreen explainer with no date at all"] is None
