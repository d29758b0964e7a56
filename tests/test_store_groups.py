"""Several sources' articles stored with one set of statements (`upsert_groups`, what ingest does for a
batch of sources) give exactly what storing them source by source gives: the same rows, tags, dirty feed
keys (counters included) and new/updated/unchanged counts, also when two sources share an article, a guid
matches a stored row, a source is met twice or its first ingest is undated; a group the database refuses
is stored again on its own, article by article. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select

from feedpipe.core.model import Article, CountryTag
from feedpipe.store import Store
from feedpipe.store.schema import article_tags, articles, dirty_feeds

from .conftest import make_article

UA = (CountryTag(code="UA", name="Ukraine", role="focus", score=1.0),)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path, now: datetime) -> Iterator[tuple[Store, Store]]:
    """Two empty stores on the same kind of database."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"]
        stores = [Store.open(u, now=now) for u in urls]
        yield stores[0], stores[1]
        for s in stores:
            s.close()
        return
    base = os.environ.get("FEEDPIPE_TEST_PG_URL")
    if not base:
        pytest.skip("FEEDPIPE_TEST_PG_URL is not set: no PostgreSQL server to test against (.ci/run starts one)")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"feedpipe_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    urls = [sa.engine.make_url(base).set(database=n).render_as_string(hide_password=False) for n in names]
    stores = [Store.open(u, now=now) for u in urls]
    yield stores[0], stores[1]
    for s in stores:
        s.close()
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def contents(store: Store) -> dict[str, list[dict[str, Any]]]:
    with store.db.read() as conn:
        return {
            "articles": [dict(r._mapping) for r in conn.execute(select(articles).order_by(articles.c.id))],
            "tags": [dict(r._mapping) for r in conn.execute(select(article_tags).order_by(
                article_tags.c.article_id, article_tags.c.kind, article_tags.c.code))],
            "dirty": [dict(r._mapping) for r in conn.execute(select(dirty_feeds).order_by(
                dirty_feeds.c.kind, dirty_feeds.c.code))],
        }


def article_inserts(store: Store) -> list[str]:
    """Every INSERT INTO articles the store sends from now on."""
    seen: list[str] = []

    @event.listens_for(store.db.engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ARTICLES "):
            seen.append(statement)

    return seen


def before(store: Store, now: datetime) -> None:
    """What the store holds when the batch comes: a guid-keyed article of c, one article of a."""
    store.articles.upsert([
        make_article("https://c.example.org/old-address", source="c", guid="c-1", title="Old title"),
        make_article("https://a.example.org/kept", source="a", title="Kept"),
    ], now=now - timedelta(hours=1))


def the_batch() -> list[list[Article]]:
    return [
        # a: one new article, one stored article edited
        [make_article("https://shared.example.org/1", source="a", title="Shared story", countries=UA),
         make_article("https://a.example.org/kept", source="a", title="Kept, edited")],
        # b: the same story as a (same id: the row moves to b), and one of its own
        [make_article("https://shared.example.org/1", source="b", title="Shared story, b's headline"),
         make_article("https://b.example.org/2", source="b")],
        # c: a new address for its stored guid, and one new
        [make_article("https://c.example.org/new-address", source="c", guid="c-1", title="New title"),
         make_article("https://c.example.org/3", source="c")],
        # d: its first ingest, undated (sorted below every dated article)
        [make_article("https://d.example.org/undated", source="d")],
        # nothing came from this source
        [],
        # a again, in the same batch
        [make_article("https://a.example.org/later", source="a", published_at=datetime(2026, 11, 26, 8, tzinfo=UTC))],
    ]


def test_a_batch_of_sources_stores_exactly_what_storing_them_one_by_one_does(two_stores, now):
    together, one_by_one = two_stores
    for store in two_stores:
        before(store, now)
    inserts = article_inserts(together)

    with together.batch():
        got = list(together.articles.upsert_groups(the_batch(), now=now))
    with one_by_one.batch():
        expected = [one_by_one.articles.upsert_each(group, now=now) for group in the_batch()]

    assert got == expected
    assert [(len(r.new), len(r.updated), len(r.unchanged)) for r, _ in got] == [
        (1, 1, 0), (1, 1, 0), (1, 1, 0), (1, 0, 0), (0, 0, 0), (1, 0, 0)]
    assert contents(together) == contents(one_by_one)
    shared = together.articles.by_url("https://shared.example.org/1")
    assert shared is not None and shared.source == "b" and shared.title == "Shared story, b's headline"
    # five groups with new articles, in three runs: a | b, c, d and the empty one | a again
    assert len(inserts) == 3


def test_counters_of_dirty_feeds_move_once_per_source_as_they_would_one_by_one(two_stores, now):
    together, one_by_one = two_stores
    groups = [[make_article(f"https://{s}.example.org/1", source=s, countries=UA if s != "c" else ())]
              for s in ("a", "b", "c")]
    list(together.articles.upsert_groups(groups, now=now))
    for group in groups:
        one_by_one.articles.upsert_each(group, now=now)
    seqs = {(d["kind"], d["code"]): d["seq"] for d in contents(together)["dirty"]}
    assert seqs == {("all", ""): 3, ("country", "UA"): 2}  # UA last changed with b, the second source
    assert contents(together)["dirty"] == contents(one_by_one)["dirty"]


def test_a_group_the_database_refuses_is_stored_again_on_its_own_article_by_article(two_stores, now, caplog):
    together, one_by_one = two_stores
    bad = make_article("https://a.example.org/bad", source="a", published_at=now.replace(tzinfo=None))  # refused
    groups = [[make_article("https://a.example.org/1", source="a"), bad],
              [make_article("https://b.example.org/1", source="b")]]

    got = list(together.articles.upsert_groups(groups, now=now))
    expected = [one_by_one.articles.upsert_each(group, now=now) for group in groups]

    assert got == expected
    (a, a_errors), (b, b_errors) = got
    assert len(a.new) == 1 and len(a_errors) == 1 and "https://a.example.org/bad: not stored" in a_errors[0]
    assert len(b.new) == 1 and b_errors == []
    assert contents(together) == contents(one_by_one)
    assert "refused together" in caplog.text


def test_each_result_comes_once_its_group_is_stored_so_that_the_caller_can_record_it_in_between(store, now):
    groups = [[make_article("https://a.example.org/1", source="a")],
              [make_article("https://a.example.org/1", source="b", title="b's headline")]]  # the same story: b waits
    counts = []
    for _ in store.articles.upsert_groups(groups, now=now):
        counts.append((store.articles.count("a"), store.articles.count("b")))
    assert counts == [(1, 0), (0, 1)]  # a's count is read before b takes the row over


def test_a_chain_of_sources_each_sharing_a_story_with_the_next_looks_each_article_up_only_a_few_times(two_stores, now):
    together, one_by_one = two_stores
    groups = [[make_article(f"https://wire.example.org/{i}", source=f"s{i}", title=f"s{i} on story {i}"),
               make_article(f"https://wire.example.org/{i + 1}", source=f"s{i}", title=f"s{i} on story {i + 1}")]
              for i in range(8)]  # s0 and s1 share story 1, s1 and s2 story 2, ...
    looked_up: list[object] = []  # the ids each lookup by id binds

    @event.listens_for(together.db.engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "articles.id IN" in statement:
            looked_up.extend(parameters.values() if isinstance(parameters, dict) else parameters)

    with together.batch():
        got = list(together.articles.upsert_groups(groups, now=now))
    expected = [one_by_one.articles.upsert_each(group, now=now) for group in groups]
    assert got == expected and contents(together) == contents(one_by_one)
    assert [(len(r.new), len(r.updated)) for r, _ in got] == [(2, 0)] + [(1, 1)] * 7
    assert len(looked_up) <= 3 * sum(len(g) for g in groups)  # not every waiting group again after each run (72)


def test_after_a_refused_group_the_next_ones_are_stored_from_their_articles_as_given(two_stores, now):
    """The refused combination had already worked on the later groups' rows (a guid match gives a row
    its stored id): they are stored again from what the caller gave, not from that work."""
    together, one_by_one = two_stores
    earlier = now - timedelta(hours=1)
    for store in two_stores:
        store.articles.upsert([make_article("https://c.example.org/old", source="c", guid="c-1", title="Old")],
                              now=earlier)
    bad = make_article("https://a.example.org/bad", source="a", published_at=now.replace(tzinfo=None))  # refused
    groups = [[make_article("https://a.example.org/1", source="a"), bad],
              [make_article("https://c.example.org/new", source="c", guid="c-1", title="New")]]  # moved, same guid

    got = list(together.articles.upsert_groups(groups, now=now))
    expected = [one_by_one.articles.upsert_each(group, now=now) for group in groups]

    assert got == expected
    assert len(got[1][0].updated) == 1 and got[1][1] == []
    assert contents(together) == contents(one_by_one)


def test_a_source_that_sent_nothing_keeps_its_rows_until_its_result_is_out(store, now):
    store.articles.upsert([make_article("https://wire.example.org/1", source="a")], now=now - timedelta(hours=1))
    groups = [[], [make_article("https://wire.example.org/1", source="b", title="b's headline")]]  # a: 304
    counts = []
    for _ in store.articles.upsert_groups(groups, now=now, sources=["a", "b"]):
        counts.append((store.articles.count("a"), store.articles.count("b")))
    assert counts == [(1, 0), (0, 1)]  # as one by one: a's count is read before b takes its story over
