# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""The one atomic writer: replace, never overwrite in place; only on change; and every published file
(feeds, the OPML, the digest's web view) readable by a web server running as another user."""

from __future__ import annotations

import os
import stat
from dataclasses import replace

import pytest

from feedpipe import pipeline
from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.core.clock import fixed_clock
from feedpipe.core.settings import FeedSettings
from feedpipe.digest import build_edition
from feedpipe.feeds.publish import publish_feeds
from feedpipe.files import FileBatch, write_file, write_if_changed
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_store  # noqa: F401

FEEDS = FeedSettings(public_url="https://news.example.org", title="Example News", max_entries=10)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def strict_umask():
    """A umask that would make files private: the writer's mode must not depend on it."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_write_if_changed_replaces_atomically_and_only_on_change(tmp_path):
    path = tmp_path / "feeds" / "all.rss"
    assert write_if_changed(path, b"one") is True
    reader = path.open("rb")  # a web server still sending the old file
    stamp = path.stat().st_mtime_ns

    assert write_if_changed(path, b"one") is False
    assert path.stat().st_mtime_ns == stamp
    assert write_if_changed(path, b"two") is True
    assert reader.read() == b"one"  # the old file was replaced, not overwritten in place
    reader.close()
    assert path.read_bytes() == b"two"
    assert mode_of(path) == 0o644
    assert os.listdir(path.parent) == ["all.rss"]  # no temporary files left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "all.rss"
    write_if_changed(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_if_changed(path, b"new")
    with pytest.raises(OSError, match="disk full"):
        write_file(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["all.rss"]


def test_a_given_mode_is_applied_whatever_the_umask(tmp_path, strict_umask):
    feed, page = tmp_path / "all.rss", tmp_path / "digest" / "2026-W48.html"
    assert write_if_changed(feed, b"feed", mode=0o640) is True
    write_file(page, b"page", mode=0o640)
    assert mode_of(feed) == mode_of(page) == 0o640

    write_file(page, b"page")
    assert mode_of(page) == 0o644


def test_an_unchanged_file_keeps_its_mtime_but_gets_the_mode_asked_for(tmp_path):
    path = tmp_path / "all.rss"
    write_if_changed(path, b"same", mode=0o600)  # as the old digest writer left its files
    stamp = path.stat().st_mtime_ns

    assert write_if_changed(path, b"same") is False
    assert mode_of(path) == 0o644 and path.stat().st_mtime_ns == stamp


def test_published_feeds_and_the_digest_web_view_are_world_readable(week_store, tmp_path, strict_umask):
    public = tmp_path / "public"
    publish_feeds(week_store, public / "feeds", FEEDS, only_dirty=False)
    web = build_edition(week_store, digest_settings(), f"{FEEDS.public_url}/feeds", WEEK, SEND_AT, public / "digest")

    files = [p for p in public.rglob("*") if p.is_file()]
    assert web in files and public / "feeds" / "index.opml" in files and len(files) > 10
    assert {p.relative_to(public).as_posix(): mode_of(p) for p in files} == {
        p.relative_to(public).as_posix(): 0o644 for p in files
    }


def test_the_digest_web_view_takes_the_mode_given(week_store, tmp_path):
    web = build_edition(week_store, digest_settings(), "https://news.example.org/feeds", WEEK, SEND_AT,
                        tmp_path / "digest", mode=0o640)
    assert mode_of(web) == 0o640


def test_the_configured_file_mode_reaches_every_published_file(week_store, tmp_path, strict_umask):
    """`[paths] file_mode` from the config file, through a real cycle's feeds and digest view."""
    config = tmp_path / "feedpipe.toml"
    config.write_text('[paths]\npublic = "public"\nfile_mode = "0640"\n[outlet]\ntimezone = "Europe/Moscow"\n')
    settings = load_settings(config, cwd=tmp_path)
    app = App(replace(settings, digest=digest_settings()), clock=fixed_clock(SEND_AT), store=week_store)

    pipeline.publish_feeds(app, now=SEND_AT, only_dirty=False)
    web_view = pipeline.build_digest_preview(app, now=SEND_AT)

    published = [*(tmp_path / "public" / "feeds").rglob("*.*"), web_view]
    assert len(published) > 5 and {mode_of(p) for p in published} == {0o640}


# --- many files, one disk flush per batch (what a feed build uses) -------------------------------


def test_a_batch_replaces_its_files_together_when_committed(tmp_path, strict_umask):
    old, new = tmp_path / "feeds" / "all.rss", tmp_path / "feeds" / "country" / "ua.rss"
    write_if_changed(old, b"old")
    reader = old.open("rb")

    with FileBatch() as batch:
        assert batch.write_if_changed(old, b"new") is True
        assert batch.write_if_changed(new, b"first") is True
        assert old.read_bytes() == b"old" and not new.exists()  # nothing replaced before the commit
        assert len(batch) == 2

    assert old.read_bytes() == b"new" and new.read_bytes() == b"first"
    assert reader.read() == b"old"  # replaced, not overwritten in place
    reader.close()
    assert mode_of(old) == mode_of(new) == 0o644
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["all.rss", "ua.rss"]


def test_a_batch_leaves_unchanged_files_alone(tmp_path):
    path = tmp_path / "all.rss"
    write_if_changed(path, b"same", mode=0o600)
    stamp = path.stat().st_mtime_ns

    with FileBatch() as batch:
        assert batch.write_if_changed(path, b"same") is False
        assert len(batch) == 0

    assert path.stat().st_mtime_ns == stamp and mode_of(path) == 0o644


def test_a_batch_given_up_or_failing_leaves_the_old_files_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "all.rss"
    write_if_changed(path, b"old")

    with pytest.raises(RuntimeError, match="render failed"), FileBatch() as batch:
        batch.write_if_changed(path, b"new")
        raise RuntimeError("render failed")

    def broken_replace(src, dst):
        raise OSError("disk full")

    batch = FileBatch()
    batch.write_if_changed(path, b"new")
    batch.write_if_changed(tmp_path / "other.rss", b"new")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        batch.commit()

    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["all.rss"]
