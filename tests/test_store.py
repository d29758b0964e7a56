"""The store: articles keyed by canonical URL, edits in place, tag queries, migrations, locking."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from feedpipe.core.model import CountryTag, TopicTag
from feedpipe.store import Store
from tests.conftest import make_article

UA = CountryTag(code="UA", name="Ukraine", role="focus", score=0.9)
PL = CountryTag(code="PL", name="Poland", role="mention", score=0.2)
POLITICS = TopicTag(code="medtop:11000000", label="politics", score=0.8)


def test_tracking_parameters_and_http_variants_are_one_article(any_store, now):
    first = make_article("https://News.Example.org/a/1/?utm_source=rss&utm_medium=feed")
    again = make_article("http://news.example.org/a/1?fbclid=abc")
    assert first.id == again.id

    assert len(any_store.articles.upsert([first], now=now).new) == 1
    result = any_store.articles.upsert([again], now=now + timedelta(minutes=5))
    assert result.new == () and len(result.unchanged) == 1
    assert any_store.articles.count() == 1


def test_an_edited_headline_updates_in_place_and_moves_updated_at(any_store, now):
    original = make_article(title="Talks stall")
    any_store.articles.upsert([original], now=now)
    later = now + timedelta(hours=2)

    edited = make_article(title="Talks collapse")
    result = any_store.articles.upsert([edited], now=later)

    assert result.updated == (original.id,)
    stored = any_store.articles.get(original.id)
    assert stored.title == "Talks collapse"
    assert stored.updated_at == later
    assert stored.published_at is None  # the source gave no date: none is made up
    assert stored.first_seen_at == now
    assert any_store.articles.count() == 1


def test_same_guid_with_a_new_url_is_the_same_article(any_store, now):
    a = make_article("https://news.example.org/draft-slug", guid="item-7")
    any_store.articles.upsert([a], now=now)
    moved = make_article("https://news.example.org/final-slug", guid="item-7")
    result = any_store.articles.upsert([moved], now=now + timedelta(minutes=1))
    assert result.updated == (a.id,)
    assert any_store.articles.count() == 1
    assert any_store.articles.get(a.id).url == "https://news.example.org/final-slug"


def test_queries_filter_by_country_role_topic_and_section(any_store, now):
    tagged = make_article("https://x.org/1", countries=(UA, PL), topics=(POLITICS,), section="news",
                          published_at=now)
    other = make_article("https://x.org/2", section="feature", published_at=now - timedelta(days=1))
    any_store.articles.upsert([tagged, other], now=now)

    assert [a.id for a in any_store.articles.query(country="ua")] == [tagged.id]
    assert any_store.articles.query(country="PL", country_role="focus") == []
    assert [a.id for a in any_store.articles.query(topic="medtop:11000000")] == [tagged.id]
    assert [a.id for a in any_store.articles.query(section="feature")] == [other.id]
    assert [a.id for a in any_store.articles.query()] == [tagged.id, other.id]  # newest first
    assert [a.id for a in any_store.articles.query(since=now - timedelta(hours=1))] == [tagged.id]
    assert any_store.articles.tag_codes("country", role="focus") == ["UA"]
    stored = any_store.articles.get(tagged.id)
    assert stored.countries == (UA, PL) and stored.topics == (POLITICS,)


def test_changes_mark_exactly_the_affected_feeds_dirty(store, now):
    a = make_article("https://x.org/1", countries=(UA,), topics=(POLITICS,), section="news")
    store.articles.upsert([a], now=now)
    assert set(store.catalogue.dirty_keys()) == {("all", ""), ("country", "UA"), ("topic", "medtop:11000000"),
                                            ("section", "news")}
    store.catalogue.clear_dirty(store.catalogue.dirty_keys())

    store.articles.upsert([a], now=now)  # unchanged: nothing to rebuild
    assert store.catalogue.dirty_keys() == {}

    store.articles.upsert([replace(a, countries=())], now=now)  # Ukraine's feed loses the article
    assert ("country", "UA") in store.catalogue.dirty_keys()


def test_a_change_during_a_feed_build_is_not_lost(store, now):
    a = make_article("https://x.org/1", countries=(UA,))
    store.articles.upsert([a], now=now)
    snapshot = store.catalogue.dirty_keys()  # a build starts from this
    store.articles.upsert([replace(a, title="Edited while the build ran")], now=now)
    store.catalogue.clear_dirty(snapshot)  # the build ends
    assert ("country", "UA") in store.catalogue.dirty_keys()


def test_migrations_are_recorded_once(sqlite_url, now):
    first = Store.open(sqlite_url, now=now)
    versions = first.schema_versions()
    first.close()
    again = Store.open(sqlite_url, now=now)
    assert again.schema_versions() == versions and {1, 2} <= set(versions)
    again.close()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(store):
    with store.db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    assert store.integrity_ok()


def _writer(url: str, worker: int, count: int) -> None:
    from tests.conftest import NOW

    s = Store.open(url, now=NOW)
    for i in range(count):
        article = make_article(f"https://x.org/{worker}/{i}", title=f"w{worker} #{i}")
        s.articles.upsert([article], now=NOW)
        s.sources.record_fetch(name=f"w{worker}", kind="file", location="-", now=NOW, status="ok", new=1)
    s.close()


def test_two_writer_processes_never_see_database_is_locked(sqlite_url, now):
    Store.open(sqlite_url, now=now).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(sqlite_url, w, 60)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    s = Store.open(sqlite_url, now=now)
    assert s.articles.count() == 120
    assert s.integrity_ok()
    s.close()


def test_naive_datetimes_are_refused(store, now):
    with pytest.raises(Exception, match="naive datetime"):
        store.articles.upsert([make_article(published_at=now.replace(tzinfo=None))], now=now)


def test_an_article_the_store_refuses_does_not_stop_the_others(store, now):
    good = [make_article(f"https://example.org/{i}") for i in range(3)]
    bad = make_article("https://example.org/bad", published_at=now.replace(tzinfo=None))  # naive: refused
    result, errors = store.articles.upsert_each([good[0], bad, *good[1:]], now=now)
    assert len(result.new) == 3 and store.articles.count() == 3
    assert len(errors) == 1 and "https://example.org/bad: not stored" in errors[0]
