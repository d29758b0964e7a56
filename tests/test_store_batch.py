"""Several sources stored in one transaction (`Store.batch`): each write inside stays atomic on its own,
and nothing of the batch is visible to others, or kept, until the batch commits; ingest stores its
sources in such batches, so a crash loses only the batch being written, fetched again at the next run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

import feedpipe.ingest as ingest_service
from feedpipe.app import App
from feedpipe.core.errors import StoreError
from feedpipe.core.model import CountryTag, Source
from feedpipe.core.settings import FetchSettings, OutletSettings, ScheduleSettings, Settings
from feedpipe.store import Store

from .conftest import make_article


def fetched(store: Store, name: str, now, new: int = 0) -> None:
    store.sources.record_fetch(name=name, kind="feed", location=f"https://{name}.example.org/rss", now=now,
                               status="ok", new=new)


def names(store: Store) -> list[str]:
    return sorted(s.name for s in store.sources.states())


def test_a_batch_is_committed_whole_at_its_end(any_store, now):
    other = Store.open(any_store.url, now=now)  # another process's view of the same database
    try:
        with any_store.batch():
            any_store.articles.upsert([make_article("https://a.example.org/1", source="a")], now=now)
            fetched(any_store, "a", now, new=1)
            assert names(any_store) == ["a"]  # this thread reads what its batch wrote
            assert any_store.sources.state("a").total_articles == 1
            assert names(other) == []  # nobody else does, until the commit
        assert names(other) == ["a"] and other.articles.count() == 1
    finally:
        other.close()


def test_a_refused_write_is_undone_alone_and_the_rest_of_the_batch_commits(any_store, now):
    with any_store.batch():
        fetched(any_store, "a", now)
        with pytest.raises(IntegrityError), any_store.db.write() as conn:
            conn.execute(text("INSERT INTO sources (name, kind, location) VALUES ('half', 'feed', 'x')"))
            conn.execute(text("INSERT INTO sources (name) VALUES (NULL)"))  # refused: undoes 'half' too
        fetched(any_store, "b", now)
    assert names(any_store) == ["a", "b"]


def test_an_error_that_leaves_the_batch_loses_the_whole_batch(any_store, now):
    fetched(any_store, "before", now)
    with pytest.raises(RuntimeError), any_store.batch():
        fetched(any_store, "a", now)
        raise RuntimeError("the process died here")
    assert names(any_store) == ["before"]  # "a" was never acknowledged: the next run fetches it again


def _feed_file(folder: Path, slug: str) -> Source:
    folder.mkdir()
    (folder / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
        "<link>https://desk.example.org/</link><description>d</description>"
        f"<item><title>Budget talks in {slug}</title><link>https://desk.example.org/{slug}</link>"
        "<description>Talks went on.</description></item></channel></rss>", encoding="utf-8")
    return Source(name=slug, kind="file", location=str(folder))


def _three_sources_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """An app with three feed files as sources, which ingest stores in one transaction."""
    sources = tuple(_feed_file(tmp_path / slug, slug) for slug in ("a", "b", "c"))
    settings = Settings(path=None, base_dir=tmp_path, outlet=OutletSettings(), store_url=f"sqlite:///{tmp_path / 'x.db'}",
                        sources=sources, fetch=FetchSettings(), fetch_workers=2, parse_processes=0,
                        public_dir=tmp_path / "public", templates_dir=None, tagging_dir=None,
                        schedule=ScheduleSettings())
    monkeypatch.setattr(ingest_service, "BATCH_SECONDS", 60.0)  # the three sources share one transaction
    return App(settings)


def test_a_crash_while_storing_loses_only_the_batch_and_the_next_run_fetches_it_again(tmp_path, now, monkeypatch):
    app = _three_sources_one_batch(tmp_path, monkeypatch)
    real = ingest_service._record_source

    def dies_at_c(app, collected, at, *stored):
        if collected.source.name == "c":
            raise RuntimeError("killed while storing")
        return real(app, collected, at, *stored)

    monkeypatch.setattr(ingest_service, "_record_source", dies_at_c)
    with pytest.raises(RuntimeError):
        ingest_service.ingest(app, now=now)
    assert app.store.articles.count() == 0 and app.store.sources.states() == []  # nothing acknowledged

    monkeypatch.setattr(ingest_service, "_record_source", real)
    report = ingest_service.ingest(app, now=now)  # the next run: every source fetched again, in full
    assert [(r.name, r.status, r.new) for r in report.results] == [("a", "ok", 1), ("b", "ok", 1), ("c", "ok", 1)]
    assert app.store.articles.count() == 3
    app.close()


def test_a_batch_the_database_refuses_is_a_store_error_and_keeps_nothing(any_store, now):
    fetched(any_store, "before", now)
    with pytest.raises(StoreError, match="refused a batch") as caught, any_store.batch():
        fetched(any_store, "a", now)
        raise OperationalError("UPDATE dirty_feeds ...", {}, Exception("deadlock detected"))
    assert "deadlock detected" in str(caught.value)
    assert names(any_store) == ["before"]


def test_a_batch_refused_by_the_database_is_stored_again_source_by_source(tmp_path, now, monkeypatch, caplog):
    app = _three_sources_one_batch(tmp_path, monkeypatch)
    real = app.store.sources.record_fetch
    conflicts = ["b"]  # another process holds b's rows once: the database gives up on the transaction

    def conflicting(**kwargs):
        if kwargs["name"] in conflicts:
            conflicts.remove(kwargs["name"])
            raise OperationalError("UPDATE sources ...", {}, Exception("deadlock detected"))
        return real(**kwargs)

    monkeypatch.setattr(app.store.sources, "record_fetch", conflicting)
    report = ingest_service.ingest(app, now=now)
    assert [(r.name, r.status, r.new) for r in report.results] == [("a", "ok", 1), ("b", "ok", 1), ("c", "ok", 1)]
    assert app.store.articles.count() == 3 and names(app.store) == ["a", "b", "c"]
    assert "storing them one at a time" in caplog.text
    app.close()


def test_two_writers_adding_the_same_new_feed_neither_refuses_the_other(any_store, now, caplog):
    """Two processes store the first articles of the same new country feed at once: the second waits
    for the first and both land in one go (no 'batch refused', no one-by-one retry)."""
    import threading

    other = Store.open(any_store.url, now=now)
    ua = (CountryTag(code="UA", name="Ukraine", role="focus", score=1.0),)
    try:
        with any_store.batch():
            any_store.articles.upsert([make_article("https://a.example.org/1", source="a", countries=ua)], now=now)
            second = threading.Thread(target=lambda: other.articles.upsert_each(
                [make_article("https://b.example.org/1", source="b", countries=ua)], now=now))
            second.start()
            second.join(0.5)  # it waits for this batch's lock on the new key (PostgreSQL) or the database
        second.join(30)
        assert not second.is_alive()
        assert any_store.articles.count() == 2 and ("country", "UA") in any_store.catalogue.dirty_keys()
        assert "batch refused" not in caplog.text
    finally:
        other.close()
