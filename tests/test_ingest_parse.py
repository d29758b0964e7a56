"""Where ingest parses: pages and files in worker processes when a run has many of them; feeds in the
fetching threads, or shared with worker processes when a run has many feeds and the machine has idle
cores (on a busy machine a worker costs more than it saves, benchmarks/bench_peer.py)."""

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


def machine(monkeypatch: pytest.MonkeyPatch, cores: int, load: float) -> None:
    monkeypatch.setattr(parse.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(parse.os, "getloadavg", lambda: (load, load, load))


def test_feeds_are_parsed_in_the_fetching_threads_on_a_busy_machine(monkeypatch: pytest.MonkeyPatch):
    machine(monkeypatch, cores=2, load=7.5)
    assert parse._processes(_app("auto"), FEEDS) == 0
    with parse.parser(_app("auto"), FEEDS) as parse_fn:
        assert isinstance(parse_fn, functools.partial)  # parse_and_tag in this process, no pool


def test_many_feeds_share_the_idle_cores_with_worker_processes(monkeypatch: pytest.MonkeyPatch):
    machine(monkeypatch, cores=2, load=0.2)
    assert parse._processes(_app("auto"), FEEDS) == 1  # one core for this process, one for a worker
    assert parse._processes(_app("auto"), FEEDS[: parse.AUTO_FEEDS_FROM - 1]) == 0  # too few to pay
    machine(monkeypatch, cores=8, load=3.0)
    assert parse._processes(_app("auto"), FEEDS) == 3
    machine(monkeypatch, cores=2, load=1.2)  # another process has the second core
    assert parse._processes(_app("auto"), FEEDS) == 0


def test_a_run_of_many_pages_or_files_uses_worker_processes_on_several_cores(monkeypatch: pytest.MonkeyPatch):
    machine(monkeypatch, cores=4, load=0.0)
    assert parse._processes(_app("auto"), PAGES) == 4
    files = [replace(s, kind="file") for s in PAGES]
    assert parse._processes(_app("auto"), files + FEEDS) == 4
    machine(monkeypatch, cores=1, load=0.0)
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


def test_feeds_shared_with_a_worker_are_stored_as_when_parsed_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture):
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
                    for i in range(parse.AUTO_FEEDS_FROM))
    stored = {}
    try:
        for label, load in (("shared", 0.0), ("here", 9.0)):
            machine(monkeypatch, cores=2, load=load)
            app = _app("auto", sources=sources, store=f"sqlite:///{tmp_path / label}.db")
            assert parse._processes(app, sources) == (1 if label == "shared" else 0)
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
