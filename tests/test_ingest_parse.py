"""Where ingest parses: feeds in the fetching threads (worker processes cost more than they save on
them, benchmarks/bench_peer.py), pages and files in worker processes when a run has many of them."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import pytest

from feedpipe.app import App
from feedpipe.core.model import Source
from feedpipe.core.settings import FetchSettings, OutletSettings, ScheduleSettings, Settings
from feedpipe.ingest import parse


def _app(processes: int | str) -> App:
    settings = Settings(path=None, base_dir=Path("."), outlet=OutletSettings(), store_url="sqlite:///:memory:",
                        sources=(), fetch=FetchSettings(), fetch_workers=4, parse_processes=processes,
                        public_dir=Path("public"), templates_dir=None, tagging_dir=None,
                        schedule=ScheduleSettings())
    return App(settings)


FEEDS = [Source(name=f"f{i}", kind="feed", location=f"https://news.example.org/{i}.xml") for i in range(20)]
PAGES = [Source(name=f"p{i}", kind="page", location=f"https://news.example.org/{i}.html") for i in range(20)]


def test_a_run_of_feeds_never_starts_worker_processes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parse.os, "cpu_count", lambda: 4)
    assert parse._processes(_app("auto"), FEEDS) == 0
    with parse.parser(_app("auto"), FEEDS) as parse_fn:
        assert isinstance(parse_fn, functools.partial)  # parse_and_tag in this process, no pool


def test_a_run_of_many_pages_or_files_uses_worker_processes_on_several_cores(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(parse.os, "cpu_count", lambda: 4)
    assert parse._processes(_app("auto"), PAGES) == 4
    files = [replace(s, kind="file") for s in PAGES]
    assert parse._processes(_app("auto"), files + FEEDS) == 4
    assert parse._processes(_app("auto"), PAGES[: parse.AUTO_PROCESSES_FROM - 1] + FEEDS) == 0
    monkeypatch.setattr(parse.os, "cpu_count", lambda: 1)
    assert parse._processes(_app("auto"), PAGES) == 0


def test_a_configured_count_is_used_as_given():
    assert parse._processes(_app(2), FEEDS) == 2
    assert parse._processes(_app(0), PAGES) == 0
