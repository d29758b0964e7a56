"""A feed's newest articles come from one index range over the tag rows, which carry each article's
place in the feeds (sort_at, migration 361): the same order as the articles table gives, on SQLite and
PostgreSQL, through edits, undated articles and a store migrated from before the copy existed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedpipe.core.model import CountryTag, TopicTag
from feedpipe.store import Store
from tests.conftest import make_article

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WAR = TopicTag(code="medtop:16000000", label="conflict, war and peace", score=0.9)


def story(n: int, *, published: datetime | None, source: str = "desk", focus: str = "UA", mention: str = "PL"):
    return make_article(
        f"https://news.example.org/{n}", title=f"Story {n}", source=source, published_at=published,
        countries=(CountryTag(code=focus, name=focus, role="focus", score=0.9),
                   CountryTag(code=mention, name=mention, role="mention", score=0.1)),
        topics=(WAR,) if n % 2 else (), section="news" if n % 3 else "analysis",
    )


def fill(store: Store) -> None:
    """Dated stories (some with the same date), undated ones from a source's first ingest (sorted last),
    then an edit that moves an old story to the top."""
    store.articles.upsert([story(n, published=None, source="backfill") for n in range(40, 44)], now=NOW)
    dated = [story(n, published=NOW - timedelta(hours=n // 2), focus="UA" if n % 4 else "PL",
                   mention="PL" if n % 4 else "UA") for n in range(30)]
    store.articles.upsert(dated, now=NOW)
    store.articles.upsert([story(29, published=NOW + timedelta(minutes=5))], now=NOW + timedelta(hours=1))


def newest(store: Store, kind: str, code: str, limit: int) -> list[str]:
    with store.catalogue.snapshot() as snapshot:
        return snapshot.newest_ids(kind, code, limit)


def reference(store: Store, kind: str, code: str, limit: int) -> list[str]:
    """The same feed read from the articles table (`ArticleRepository.query`, `NEWEST_FIRST`)."""
    by = {"country": {"country": code, "country_role": "focus"}, "topic": {"topic": code},
          "section": {"section": code}}[kind]
    return [a.id for a in store.articles.query(limit=limit, **by)]


FEEDS = [("country", "UA"), ("country", "PL"), ("topic", WAR.code), ("section", "news"), ("section", "analysis")]


def test_newest_ids_per_tag_follow_the_stores_order(any_store):
    fill(any_store)

    for kind, code in FEEDS:
        for limit in (3, 50):
            assert newest(any_store, kind, code, limit) == reference(any_store, kind, code, limit), (kind, code)
    top = newest(any_store, "country", "UA", 50)
    assert top[0] == make_article("https://news.example.org/29").id  # the edited story moved up
    assert set(top[-4:]) == {make_article(f"https://news.example.org/{n}").id for n in range(40, 44)}  # undated last
    assert len(newest(any_store, "country", "UA", 50)) == len(reference(any_store, "country", "UA", 50)) == 22 + 4


def test_a_store_from_before_the_copy_gets_it_when_opened(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url, now=NOW)
    fill(store)
    with store.db.write() as conn:  # the tag rows as an older feedpipe left them
        conn.exec_driver_sql("DROP INDEX ix_article_tags_newest")
        conn.exec_driver_sql("ALTER TABLE article_tags DROP COLUMN sort_at")
        conn.exec_driver_sql("DELETE FROM schema_migrations WHERE version = 361")
    store.close()

    reopened = Store.open(url, now=NOW)
    try:
        for kind, code in FEEDS:
            assert newest(reopened, kind, code, 50) == reference(reopened, kind, code, 50), (kind, code)
    finally:
        reopened.close()
