"""`record_fetch` returns the source's state as the store now holds it (it is built from what was written,
not read back): the same state `state(name)` reads, on SQLite and PostgreSQL, whatever the fetch was."""

from __future__ import annotations

from datetime import timedelta, timezone

from .conftest import make_article

KYIV = timezone(timedelta(hours=2))


def test_the_state_a_fetch_returns_is_the_state_stored(any_store, now):
    sources = any_store.sources
    any_store.articles.upsert([make_article("https://a.example.org/1", source="a")], now=now)
    fetches = [
        dict(status="ok", etag='"v1"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT", ttl_minutes=30, new=1),
        dict(status="not-modified"),
        dict(status="error", error="HTTP 503", retry_after_until=(now + timedelta(minutes=5)).astimezone(KYIV)),
        dict(status="error", error="HTTP 503", pause_after=2),  # the second failure in a row: paused
        dict(status="ok", etag=None, new=0, unchanged=1),
    ]
    for i, fetch in enumerate(fetches):
        at = (now + timedelta(hours=i)).astimezone(KYIV)  # any zone in, UTC out
        state = sources.record_fetch(name="a", kind="feed", location="https://a.example.org/rss", now=at,
                                     **fetch)
        assert state == sources.state("a"), fetch
        assert state.last_fetch_at is not None and state.last_fetch_at.utcoffset() == timedelta(0)
    assert state.total_articles == 1 and state.last_unchanged == 1 and state.etag is None
    moved = sources.record_fetch(name="a", kind="feed", location="https://a.example.org/new-rss", now=now,
                                 status="error", error="gone")  # a new location starts its failures again
    assert moved == sources.state("a") and moved.failures == 1
    first = sources.record_fetch(name="b", kind="page", location="https://b.example.org/", now=now,
                                 status="error", error="timeout")  # a source never seen before
    assert first == sources.state("b") and first.etag is None and first.last_success_at is None
