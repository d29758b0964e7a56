"""Where ingest parses: pages and files in worker processes when a run has many of them; a run of feeds
in the fetching threads (a worker cost more than it saved, benchmarks/bench_peer.py), and when workers
run, feeds are shared between them and the fetching threads."""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from feedpipe.app import App
from feedpipe.core.model import Source
from feedpipe.core.settings import FetchSettings, OutletSettings, ScheduleSettings, Settings
from feedpipe.ingest import ingest, parse


def _app(processes: int | str, *, sources: tuple[Source, ...] = (), store: str = "sqlite:///:memory:") -> App:
    settings = Settings(path=None, base_dir=Path("."), outlet=OutletSettings(), store_url=store,
                        sources=sources, fetch=FetchSettings(allow_private_addresses=True), fetch_workers=4,
                        parse_processes=processes, public_dir=Path("public"), templates_dir=None, tagging_dir=None,
                        schedule=ScheduleSettings())
    return App(settings)


FEEDS = [Source(name=f"f{i}", kind="feed", location=f"https://news.example.org/{i}.xml") for i in range(30)]
PAGES = [Source(name=f"p{i}", kind="page", location=f"https://news.example.org/{i}.html") for i in range(20)]


def cores(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(parse.os, "cpu_count", lambda: count)


def test_a_run_of_feeds_never_starts_worker_processes(monkeypatch: pytest.MonkeyPatch):
    cores(monkeypatch, 4)
    assert parse._processes(_app("auto"), FEEDS) == 0
    with parse.parser(_app("auto"), FEEDS) as parse_fn:
        assert isinstance(parse_fn, functools.partial)  # parse_and_tag in this process, no pool


def test_a_run_of_many_pages_or_files_uses_worker_processes_on_several_cores(monkeypatch: pytest.MonkeyPatch):
    cores(monkeypatch, 4)
    assert parse._processes(_app("auto"), PAGES) == 4
    files = [replace(s, kind="file") for s in PAGES]
    assert parse._processes(_app("auto"), files + FEEDS) == 4
    assert parse._processes(_app("auto"), PAGES[: parse.AUTO_PROCESSES_FROM - 1] + FEEDS) == 0
    cores(monkeypatch, 1)
    assert parse._processes(_app("auto"), PAGES) == 0


def test_a_configured_count_is_used_as_given():
    assert parse._processes(_app(2), FEEDS) == 2
    assert parse._processes(_app(0), PAGES) == 0


def _rss(i: int) -> bytes:
    items = "".join(f"<item><title>Story {i}-{n} on the budget</title><link>https://news.example.org/{i}/{n}</link>"
                    f"<description>Parliament debated the budget for the {n}th time.</description></item>"
                    for n in range(3))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk {i}</title>'
            f"<link>https://news.example.org/</link><description>d</description>{items}</channel></rss>").encode()


def test_feeds_shared_with_a_worker_are_stored_as_when_parsed_here(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="feedpipe.ingest.parse")

    class Feeds(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = _rss(int(self.path.strip("/").split(".")[0]))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    Thread(target=server.serve_forever, daemon=True).start()
    sources = tuple(Source(name=f"f{i}", kind="feed", location=f"http://127.0.0.1:{server.server_address[1]}/{i}.xml")
                    for i in range(12))
    stored = {}
    try:
        for label, processes in (("shared", 1), ("here", 0)):
            app = _app(processes, sources=sources, store=f"sqlite:///{tmp_path / label}.db")
            report = ingest(app, now=datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
            assert report.total("new") == 3 * len(sources) and not report.failed_sources
            stored[label] = sorted(json.dumps([a.id, a.title, a.text, a.countries, a.topics, a.section], default=str)
                                   for a in app.store.articles.query())
            app.close()
    finally:
        server.shutdown()
    assert stored["shared"] == stored["here"]
    counts = re.search(r"parsed (\d+) documents in this process and (\d+) in 1 worker", caplog.text)
    assert counts and int(counts.group(2)) >= 1, caplog.text  # the worker took its share
