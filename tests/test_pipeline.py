"""Ingestion end to end: real HTTP server on 127.0.0.1, real SQLite, the real CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

import feedpipe.ingest as ingest_service
from feedpipe.app import App
from feedpipe.cli import run
from feedpipe.cli.context import EXIT_CONFIG, EXIT_OK, EXIT_SOURCES_FAILED
from feedpipe.config import load_settings
from feedpipe.store import Store
from tests.httpfixtures import local_config

REPO = Path(__file__).resolve().parent.parent

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>http://example.org/</link><description>d</description>
<item><title>Kyiv hit by drones overnight</title><link>https://example.org/a?utm_source=rss</link>
<guid>a</guid><pubDate>Thu, 26 Nov 2026 07:40:00 +0000</pubDate>
<description>Ukrainian officials said Russian drones struck Kyiv.</description></item>
<item><title>Chad Smith plays drums in Paris</title><link>https://example.org/b</link><guid>b</guid>
<pubDate>Wed, 25 Nov 2026 07:40:00 +0000</pubDate><description>A concert review.</description></item>
</channel></rss>"""


def write_config(tmp_path: Path, sources: str) -> Path:
    return local_config(tmp_path, sources)


def feed_source(name: str, url: str) -> str:
    return f'[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n'


def make_app(cfg: Path, now) -> App:
    return App(load_settings(cfg, cwd=cfg.parent), clock=lambda: now)


def test_one_bad_source_never_stops_the_others(httpserver: HTTPServer, tmp_path, now):
    httpserver.expect_request("/good.xml").respond_with_data(RSS, content_type="application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    httpserver.expect_request("/page.xml").respond_with_data("<html><body><p>hello</p></body></html>",
                                                             content_type="text/html")
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/loop")}))
    httpserver.expect_request("/bad.xml").respond_with_data(
        b"<?xml version='1.0'?><rss><channel><title>x</title><item><title>\x01broken", content_type="text/xml")
    sources = "".join(feed_source(n, httpserver.url_for(p)) for n, p in [
        ("good", "/good.xml"), ("broken", "/broken.xml"), ("html", "/page.xml"), ("loop", "/loop"),
        ("malformed", "/bad.xml")])
    app = make_app(write_config(tmp_path, sources), now)

    report = ingest_service.ingest(app, now=now)

    by_name = {r.name: r for r in report.results}
    assert by_name["good"].status == "ok" and by_name["good"].new == 2
    assert by_name["broken"].status == "error" and "500" in by_name["broken"].error
    assert by_name["loop"].status == "error" and "redirect" in by_name["loop"].error.lower()
    assert by_name["html"].status == "error"
    assert by_name["malformed"].status in ("error", "ok")  # a bozo feed with no items is an error
    assert app.store.articles.count() == 2
    states = {s.name: s for s in app.store.sources.states()}
    assert states["broken"].error and states["good"].error is None


def test_second_fetch_is_conditional_and_304_means_no_reparse(httpserver: HTTPServer, tmp_path, now):
    etag = '"v1-abc"'

    def handler(request):
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(RSS, headers={"ETag": etag, "Last-Modified": "Thu, 26 Nov 2026 08:00:00 GMT"},
                        content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    app = make_app(write_config(tmp_path, feed_source("f", httpserver.url_for("/feed.xml"))), now)

    first = ingest_service.ingest(app, now=now).results[0]
    second = ingest_service.ingest(app, now=now).results[0]

    assert (first.status, first.new) == ("ok", 2)
    assert second.status == "not-modified"
    sent = httpserver.log[-1][0].headers
    assert sent["If-None-Match"] == etag
    assert sent["If-Modified-Since"] == "Thu, 26 Nov 2026 08:00:00 GMT"


def test_retry_after_makes_the_next_run_wait(httpserver: HTTPServer, tmp_path, now):
    httpserver.expect_request("/busy.xml").respond_with_data("slow down", status=429,
                                                             headers={"Retry-After": "3600"})
    app = make_app(write_config(tmp_path, feed_source("busy", httpserver.url_for("/busy.xml"))), now)

    first = ingest_service.ingest(app, now=now).results[0]
    second = ingest_service.ingest(app, now=now).results[0]

    assert first.status == "error" and "429" in first.error
    assert second.status == "waiting"
    assert len(httpserver.log) == 1  # the server was not asked again


SAMPLE_WEEK = "2026-11-26T20:00:00+01:00"  # the demo's clock (Makefile): Thursday of the samples' week


def test_cli_run_on_the_shipped_samples_writes_feeds_and_a_digest(tmp_path, capsys):
    """The README's main job, on a copy of the embedded default."""
    import shutil

    for part in ("config", "samples", "templates"):
        shutil.copytree(REPO / part, tmp_path / part)
    os.chdir(tmp_path)
    assert run(["--now", SAMPLE_WEEK, "run"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "world" in out and "total" in out
    assert (tmp_path / "public" / "feeds" / "all.atom").stat().st_size > 0
    (digest,) = (tmp_path / "public" / "digest").glob("*.html")
    # every "by country / by topic" link in the digest points at a feed that was written
    feed_links = set(re.findall(r'href="https://news\.example\.org/(feeds/[^"]+)"', digest.read_text()))
    assert any("/country/" in link for link in feed_links) and any("/topic/sub-" in link for link in feed_links)
    assert all((tmp_path / "public" / link).is_file() for link in feed_links), feed_links
    assert run(["articles", "--json", "--limit", "100"]) == EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) >= 10
    assert {"id", "url", "title", "text", "published", "countries", "topics", "section"} <= set(rows[0])
    lithuania = next(r for r in rows if r["title"].startswith("Lithuania Closes"))
    assert "Support The Example Times" not in lithuania["text"] and "Sign up" not in lithuania["text"]
    assert "Neighbours on alert" in lithuania["text"]


def test_exit_codes_for_config_errors_and_failed_sources(httpserver: HTTPServer, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\ntype = "rss"\n')
    assert run(["--config", str(bad), "ingest"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "bad.toml" in err and "'rss' is not a source type" in err

    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    cfg = write_config(tmp_path, feed_source("gone", httpserver.url_for("/gone.xml")))
    assert run(["--config", str(cfg), "ingest"]) == EXIT_SOURCES_FAILED
    assert run(["--config", str(cfg), "sources", "--json"]) == EXIT_OK
    state = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert state["name"] == "gone" and state["status"] == "error" and "404" in state["error"]


def test_adhoc_ingest_of_the_seed_file(tmp_path, capsys):
    seed = REPO.parent / "shared" / "seed" / "000_8f26df3e451ccae8.txt"
    if not seed.is_file():
        pytest.skip(f"the seed is not at {seed}")
    cfg = write_config(tmp_path, "")
    assert run(["--config", str(cfg), "ingest", str(seed)]) == EXIT_OK
    assert run(["--config", str(cfg), "articles", "--json"]) == EXIT_OK
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert row["title"] == "Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes"
    for boilerplate in ("Support The Moscow Times", "Sign up for our free weekly newsletter",
                        "Dear readers", "Remind me later", "Read more"):
        assert boilerplate not in row["text"]
    assert "Steadfast support" in row["text"]
    focus = {c["code"] for c in row["countries"] if c["role"] == "focus"}
    assert focus == {"UA", "RU", "BY"}


def _count(db: Path) -> int:
    """Committed articles, read without taking any lock (WAL readers never block the writer)."""
    import sqlite3

    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    """Child processes of `pid` (Linux /proc); empty elsewhere."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in path.read_text().split()]
    return found


def test_killing_an_ingest_loses_no_acknowledged_article(tmp_path, now):
    """Twenty folder sources of 50 articles each; kill -9 mid-run; every committed source is whole."""
    sources = ""
    for s in range(20):
        folder = tmp_path / f"src{s}"
        folder.mkdir()
        lines = [json.dumps({"url": f"https://example.org/{s}/{i}", "title": f"Story {s}-{i} from Kyiv",
                             "body": "Ukrainian officials said. " * 40}) for i in range(50)]
        (folder / "items.jsonl").write_text("\n".join(lines))
        sources += f'[[sources]]\nname = "s{s}"\ntype = "file"\npath = "{folder}"\n'
    cfg = write_config(tmp_path, sources.replace("[fetch]", "[fetch]\nworkers = 1"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "feedpipe", "--config", str(cfg), "-q", "ingest"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "var" / "feedpipe.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _count(db) < 100:  # at least two sources committed
        time.sleep(0.05)
    workers = _children(proc.pid)  # the parse workers (20 sources: worker processes are on)
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers outlived the killed ingest"

    store = Store.open(f"sqlite:///{db}", now=now)
    assert store.integrity_ok()
    count = store.articles.count()
    assert count % 50 == 0, f"{count} articles: a source was stored in part"
    assert count >= 100, f"only {count} articles were committed before the kill"
    store.close()
    app = make_app(cfg, now)
    ingest_service.ingest(app, now=now)
    assert app.store.articles.count() == 1000


PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Minsk court jails activists</title>
<meta property="og:title" content="Minsk court jails activists"><meta name="author" content="A. Writer">
<meta property="article:published_time" content="2026-11-25T10:00:00+00:00"></head><body>
<nav><a href="/">Home</a></nav><article><h1>Minsk court jails activists</h1>
<p>A court in Minsk sentenced four Belarusian activists to long prison terms on Wednesday for taking part in
protests, human rights groups said. Their lawyers said they would appeal against the verdicts.</p>
<p>The European Union condemned the sentences and said it was preparing further sanctions against officials
in Belarus who were responsible for the crackdown on dissent.</p>
<p>Exiled opposition leaders called on Western governments to keep up the pressure on the authorities.</p>
<div class="support"><h3>A Message from The Example Times</h3><p>Dear readers, please support independent
journalism with a monthly contribution.</p><p>Once</p><p>Monthly</p><p>Annual</p><p>Continue</p></div>
</article></body></html>"""


def test_page_sources_and_full_text_feeds(httpserver: HTTPServer, tmp_path, now):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)  # 404: no restrictions
    for path in ("/story", "/story-2", "/other"):
        httpserver.expect_request(path).respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    short_feed = (RSS.replace("https://example.org/a?utm_source=rss", httpserver.url_for("/story-2"))
                  .replace("https://example.org/b", httpserver.url_for("/other")))
    httpserver.expect_request("/feed.xml").respond_with_data(short_feed, content_type="application/rss+xml")
    sources = (f'[[sources]]\nname = "page"\ntype = "page"\nurl = "{httpserver.url_for("/story")}"\n'
               + feed_source("full", httpserver.url_for("/feed.xml")) + "full_text = true\n")
    app = make_app(write_config(tmp_path, sources), now)

    report = ingest_service.ingest(app, now=now)

    assert [r.status for r in report.results] == ["ok", "ok"]
    (page,) = app.store.articles.query(source="page")
    assert page.title == "Minsk court jails activists"
    assert "European Union condemned" in page.text
    assert "Dear readers" not in page.text and "Monthly" not in page.text
    assert {c.code for c in page.countries if c.role == "focus"} == {"BY"}
    full = app.store.articles.query(source="full")
    story = next(a for a in full if "story-2" in a.url)
    assert "European Union condemned" in story.text  # the page's text, not the feed's one-liner


def test_retag_recomputes_stored_tags_and_marks_their_feeds(tmp_path, now):
    from tests.conftest import make_article

    app = make_app(write_config(tmp_path, ""), now)
    untagged = make_article("https://example.org/kyiv", title="Drones strike Kyiv",
                            text="Russian drones struck Kyiv overnight, Ukrainian officials said.", section="feature")
    app.store.articles.upsert([untagged], now=now)
    app.store.catalogue.clear_dirty(app.store.catalogue.dirty_keys())

    seen, changed = ingest_service.retag(app, now=now)

    assert (seen, changed) == (1, 1)
    stored = app.store.articles.get(untagged.id)
    assert "UA" in {c.code for c in stored.countries if c.role == "focus"}
    assert stored.topics and stored.section == "feature"
    assert ("country", "UA") in app.store.catalogue.dirty_keys()
    assert ingest_service.retag(app, now=now) == (1, 0)  # nothing changes the second time


PODCAST = """<?xml version="1.0"?><rss version="2.0"><channel><title>Cast</title><link>http://cast.example.org/</link>
<description>d</description>
<item><title>Episode 1</title><link>http://cast.example.org/</link><guid>ep-1</guid></item>
<item><title>Episode 2</title><link>http://cast.example.org/</link><guid>ep-2</guid></item>
</channel></rss>"""


def test_items_sharing_one_link_are_kept_apart_by_guid(tmp_path, now):
    feed = tmp_path / "cast.rss"
    feed.write_text(PODCAST)
    app = make_app(write_config(tmp_path, f'[[sources]]\nname = "cast"\ntype = "file"\npath = "{feed}"\n'), now)
    (result,) = ingest_service.ingest(app, now=now).results
    assert (result.status, result.new) == ("ok", 2)


def test_a_feeds_own_ttl_spaces_out_its_fetches(httpserver: HTTPServer, tmp_path, now):
    from datetime import timedelta

    httpserver.expect_request("/ttl.xml").respond_with_data(RSS.replace("<channel>", "<channel><ttl>60</ttl>"),
                                                            content_type="application/rss+xml")
    app = make_app(write_config(tmp_path, feed_source("ttl", httpserver.url_for("/ttl.xml"))), now)

    statuses = [ingest_service.ingest(app, now=now + timedelta(minutes=m)).results[0].status for m in (0, 30, 61)]

    assert statuses == ["ok", "not-due", "ok"]
    assert len(httpserver.log) == 2
    assert app.store.sources.state("ttl").ttl_minutes == 60


def test_feed_ttl_reads_the_channel_not_the_items():
    from feedpipe.extract.ttl import feed_ttl

    assert feed_ttl(b"<rss><channel><ttl> 30 </ttl><item><title>x</title></item></channel></rss>") == 30
    assert feed_ttl(b"<rss><channel><item><ttl>30</ttl></item></channel></rss>") is None
    assert feed_ttl(b"<rss><channel><ttl>99999</ttl></channel></rss>") == 24 * 60  # capped at a day
    assert feed_ttl(b"<feed><entry/></feed>") is None


def test_worker_processes_give_the_same_articles_and_errors_as_threads(tmp_path, now):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "world.rss").write_text(RSS)
    (folder / "catalog.xml").write_text('<?xml version="1.0"?><catalog><book id="1"/></catalog>')  # not a feed
    (folder / "bulk.jsonl").write_text('{"url": "https://example.org/j", "title": "Minsk talks"}\nnot json\n')
    sources = f'[[sources]]\nname = "in"\ntype = "file"\npath = "{folder}"\n'
    outcomes = []
    for processes in (0, 2):
        home = tmp_path / f"p{processes}"
        home.mkdir()
        cfg = write_config(home, sources)
        cfg.write_text(cfg.read_text().replace("[fetch]", f"[fetch]\nprocesses = {processes}"))
        app = make_app(cfg, now)
        (result,) = ingest_service.ingest(app, now=now).results
        stored = sorted((a.title, a.countries, a.topics, a.section) for a in app.store.articles.query())
        outcomes.append((result.new, result.failed, stored, result.error.split(" (+")[0]))
    assert outcomes[0] == outcomes[1]
    new, failed, stored, _ = outcomes[0]
    assert (new, failed) == (3, 2)  # the XML that is not a feed, and the bad JSON line
