"""The article repository: upsert keyed by canonical URL (or source + guid), tag index, queries."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError, StatementError

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.extract.dates import settle, sort_time
from feedpipe.feeds.entries import html_stamp
from feedpipe.store.engine import Database
from feedpipe.store.schema import article_tags, articles, dirty_feeds

log = logging.getLogger(__name__)

# Fields whose change makes a stored article "updated" (and its feeds dirty).
_COMPARED = (
    "canonical_url", "title", "summary", "content_html", "text", "published_at", "authors", "image", "image_alt",
    "categories", "language", "section", "countries", "topics", "content_hash",
)


@dataclass(frozen=True, kw_only=True)
class UpsertResult:
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


def article_to_row(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "canonical_url": article.canonical_url,
        "url": article.url,
        "guid": article.guid,
        "source": article.source,
        "title": article.title,
        "summary": article.summary,
        "content_html": article.content_html,
        "text": article.text,
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "authors": list(article.authors),
        "image": article.image,
        "image_alt": article.image_alt,
        "categories": list(article.categories),
        "language": article.language,
        "section": article.section,
        "countries": [
            {"code": c.code, "name": c.name, "role": c.role, "score": c.score, "evidence": list(c.evidence)}
            for c in article.countries
        ],
        "topics": [{"code": t.code, "label": t.label, "score": t.score} for t in article.topics],
        "content_hash": article.content_hash,
        "extra": dict(article.extra),
    }


def row_to_article(row: Row[*tuple[Any, ...]]) -> Article:
    """An Article from a row of `articles`; columns a query left out (text, extra, ...) come back empty."""
    m = row._mapping
    return Article(
        id=m["id"],
        url=m["url"],
        canonical_url=m["canonical_url"],
        guid=m.get("guid"),
        source=m["source"],
        title=m["title"],
        summary=m.get("summary") or "",
        content_html=m.get("content_html") or "",
        text=m.get("text") or "",
        published_at=m.get("published_at"),
        updated_at=m.get("updated_at"),
        authors=tuple(m.get("authors") or ()),
        image=m.get("image"),
        image_alt=m.get("image_alt"),
        categories=tuple(m.get("categories") or ()),
        language=m.get("language"),
        section=m.get("section"),
        countries=tuple(
            CountryTag(
                code=c["code"], name=c.get("name") or c["code"], role=c["role"], score=c.get("score") or 0.0,
                evidence=tuple(c.get("evidence", ())),
            )
            for c in (m.get("countries") or ())
        ),
        topics=tuple(
            TopicTag(code=t["code"], label=t.get("label") or t["code"], score=t.get("score") or 0.0)
            for t in (m.get("topics") or ())
        ),
        content_hash=m.get("content_hash") or "",
        extra=dict(m.get("extra") or {}),
        first_seen_at=m.get("first_seen_at"),
        html_policy=m.get("html_policy"),
    )


def feed_keys(row: dict[str, Any]) -> set[tuple[str, str]]:
    """The feeds an article appears in: all, each focus country, each topic, its section."""
    keys = {("all", "")}
    keys |= {("country", c["code"]) for c in row["countries"] if c["role"] == "focus"}
    keys |= {("topic", t["code"]) for t in row["topics"]}
    if row["section"]:
        keys.add(("section", row["section"]))
    return keys


def _tag_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        {"article_id": row["id"], "kind": "country", "code": c["code"], "role": c["role"], "score": c["score"]}
        for c in row["countries"]
    ]
    out += [
        {"article_id": row["id"], "kind": "topic", "code": t["code"], "role": None, "score": t["score"]}
        for t in row["topics"]
    ]
    if row["section"]:
        out.append({"article_id": row["id"], "kind": "section", "code": row["section"], "role": None, "score": None})
    for tag in out:  # the article's place in the feeds, copied for the per-feed index (migration 361)
        tag["sort_at"] = row["sort_at"]
    return out


# Newest first: by sort_at (the published date, else first seen), undated backfill (NULL) last, then id.
NEWEST_FIRST = (articles.c.sort_at.desc().nulls_last(), articles.c.id.desc())


class ArticleRepository:
    """Stored articles: upsert keyed by canonical URL (or source + guid), reads, the tag index.

    Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, items: Iterable[Article], *, now: datetime) -> UpsertResult:
        """Insert new articles and update changed ones in place, in one write transaction.

        An article is the same as a stored one when its id (hash of canonical URL) matches, or its
        source and guid match. An edited article keeps its id and `first_seen_at`; its `updated_at`
        becomes the source's updated date or `now`. A missing published date stays missing (None: never
        eligible for a digest's automatic selection); a published date in the future beyond
        `FUTURE_SKEW` becomes the first-seen time. `sort_at` places each article in the feeds
        (`extract.dates.sort_time`): an undated article of a source's first ingest (no article of that
        source stored before this batch) sorts below every dated one.
        """
        return self._upsert(items, now=now)

    def _upsert(self, items: Iterable[Article], *, now: datetime, first_ingest: set[str] | None = None
                ) -> UpsertResult:
        """`upsert`; `first_ingest` names the sources whose first ingest this is (default: those with no
        stored article yet)."""
        batch: dict[str, dict[str, Any]] = {}
        given: dict[str, Article] = {}
        for article in items:
            batch[article.id], given[article.id] = article_to_row(article), article
        if not batch:
            return UpsertResult()
        new: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        inserts: list[dict[str, Any]] = []
        tagged: list[dict[str, Any]] = []  # rows whose tag index is rewritten
        dirty: set[tuple[str, str]] = set()
        with self._db.write() as conn:
            existing = _existing(conn, list(batch.values()))
            names = {row["source"] for row in batch.values()}
            first = first_ingest if first_ingest is not None else names - _known_sources(conn, names)
            for row in batch.values():
                old = existing.get(row["id"]) or existing.get(("guid", row["source"], row["guid"]))
                article = given[row["id"]]
                if old is None:
                    row.update(first_seen_at=now, changed_at=now)
                    row["published_at"] = settle(row["published_at"], first_seen=now, label=row["url"])
                    row["sort_at"] = sort_time(row["published_at"], first_seen=now,
                                               backfill=row["source"] in first)
                    row["html_policy"] = html_stamp(article)  # lets a feed skip sanitising this HTML again
                    inserts.append(row)
                    tagged.append(row)
                    dirty |= feed_keys(row)
                    new.append(row["id"])
                    continue
                row["id"] = old["id"]
                row["published_at"] = settle(row["published_at"] or old["published_at"],
                                             first_seen=old["first_seen_at"], label=row["url"])
                row["sort_at"] = row["published_at"] or old["sort_at"]
                if all(row[k] == old[k] for k in _COMPARED):
                    unchanged.append(row["id"])
                    continue
                if row["updated_at"] is None or (old["updated_at"] and row["updated_at"] <= old["updated_at"]):
                    row["updated_at"] = now
                row["changed_at"] = now
                row["html_policy"] = html_stamp(article)  # (only for rows written: it costs an nh3 pass)
                values = {k: v for k, v in row.items() if k not in ("id", "first_seen_at")}
                conn.execute(articles.update().where(articles.c.id == old["id"]).values(**values))
                tagged.append(row)
                dirty |= feed_keys(row) | feed_keys(old)
                updated.append(row["id"])
            if inserts:  # one executemany for the whole batch: the per-row overhead is the cost here
                conn.execute(articles.insert(), inserts)
            _replace_tags(conn, tagged, stale=updated)  # a new article has no tags to delete
            _mark_dirty(conn, dirty)
        return UpsertResult(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged))

    def upsert_each(self, items: Iterable[Article], *, now: datetime) -> tuple[UpsertResult, list[str]]:
        """`upsert`, but when the database refuses the batch the articles are stored one by one, so that
        one bad article is reported ("url: not stored: reason") and the others still land."""
        batch = list(items)
        try:
            return self.upsert(batch, now=now), []
        except SQLAlchemyError as exc:
            log.warning("batch refused by the store (%s); storing articles one by one", type(exc).__name__)
        new: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        errors: list[str] = []
        names = {a.source for a in batch}
        with self._db.read() as conn:  # one by one, a source's first ingest is still its first ingest
            first = names - _known_sources(conn, names)
        for article in batch:
            try:
                r = self._upsert([article], now=now, first_ingest=first)
            except SQLAlchemyError as exc:
                reason = (exc.orig if isinstance(exc, StatementError) else None) or exc
                errors.append(f"{article.url}: not stored: {str(reason)[:200]}")
                continue
            new += r.new
            updated += r.updated
            unchanged += r.unchanged
        return UpsertResult(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged)), errors

    def get(self, article_id: str) -> Article | None:
        with self._db.read() as conn:
            row = conn.execute(select(articles).where(articles.c.id == article_id)).first()
        return row_to_article(row) if row else None

    def by_url(self, canonical_url: str) -> Article | None:
        with self._db.read() as conn:
            row = conn.execute(select(articles).where(articles.c.canonical_url == canonical_url)).first()
        return row_to_article(row) if row else None

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        country: str | None = None,
        country_role: str | None = None,
        topic: str | None = None,
        section: str | None = None,
        ids: Iterable[str] | None = None,
        limit: int | None = None,
        language: str | None = None,
    ) -> list[Article]:
        """Stored articles, newest first (`NEWEST_FIRST`: published, else first seen; then id, so the order
        is stable).

        `since`/`until` bound the published date (until exclusive; an undated article is never inside);
        `country` matches any role unless `country_role` is given; `topic` is a code such as
        "medtop:11000000" or "sub:sanctions"; `language` "pt" matches "pt" and "pt-BR".
        """
        query = select(articles)
        if since is not None:
            query = query.where(articles.c.published_at >= since)
        if until is not None:
            query = query.where(articles.c.published_at < until)
        if source is not None:
            query = query.where(articles.c.source == source)
        if ids is not None:
            query = query.where(articles.c.id.in_(list(ids)))
        if language:
            lang = language.strip().lower()
            query = query.where(or_(articles.c.language == lang, articles.c.language.like(f"{lang}-%")))
        for kind, code, role in (("country", country, country_role), ("topic", topic, None),
                                 ("section", section, None)):
            if code is None:
                continue
            cond = and_(article_tags.c.kind == kind, article_tags.c.code == (code.upper() if kind == "country" else code))
            if role:
                cond = and_(cond, article_tags.c.role == role)
            query = query.where(articles.c.id.in_(select(article_tags.c.article_id).where(cond)))
        query = query.order_by(*NEWEST_FIRST)
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            return [row_to_article(r) for r in conn.execute(query)]

    def iter_batches(self, batch_size: int = 500) -> Iterator[list[Article]]:
        """All articles in id order, a batch at a time, so a retag of a large store stays flat in memory."""
        last = ""
        while True:
            with self._db.read() as conn:
                rows = conn.execute(
                    select(articles).where(articles.c.id > last).order_by(articles.c.id).limit(batch_size)
                ).all()
            if not rows:
                return
            yield [row_to_article(r) for r in rows]
            last = rows[-1]._mapping["id"]

    def count(self, source: str | None = None) -> int:
        query = select(func.count()).select_from(articles)
        if source is not None:
            query = query.where(articles.c.source == source)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def tag_codes(self, kind: str, *, role: str | None = None) -> list[str]:
        """Every code of one tag kind in use, e.g. all focus countries; sorted."""
        query = select(article_tags.c.code).where(article_tags.c.kind == kind).distinct()
        if role:
            query = query.where(article_tags.c.role == role)
        with self._db.read() as conn:
            return sorted(conn.execute(query).scalars())


def _known_sources(conn: Connection, names: set[str]) -> set[str]:
    """The sources among `names` with at least one stored article (not a first ingest)."""
    found: set[str] = set()
    for name in names:
        if conn.execute(select(articles.c.id).where(articles.c.source == name).limit(1)).first() is not None:
            found.add(name)
    return found


def _existing(conn: Connection, rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Stored rows matching the batch, by id and by ("guid", source, guid)."""
    found: dict[Any, dict[str, Any]] = {}
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        for r in conn.execute(select(articles).where(articles.c.id.in_(ids[start : start + 500]))):
            found[r.id] = dict(r._mapping)
    by_source: dict[str, list[str]] = {}
    for row in rows:
        if row["id"] not in found and row["guid"]:
            by_source.setdefault(row["source"], []).append(row["guid"])
    for source, guids in by_source.items():
        for start in range(0, len(guids), 500):
            chunk = guids[start : start + 500]
            query = select(articles).where(articles.c.source == source, articles.c.guid.in_(chunk))
            for old in conn.execute(query):
                found[("guid", source, old.guid)] = dict(old._mapping)
    return found


def _replace_tags(conn: Connection, rows: list[dict[str, Any]], *, stale: list[str]) -> None:
    """Write the tag index of `rows`, first deleting the old tags of the `stale` (updated) ones."""
    for start in range(0, len(stale), 500):
        conn.execute(article_tags.delete().where(article_tags.c.article_id.in_(stale[start : start + 500])))
    tag_rows = [t for row in rows for t in _tag_rows(row)]
    if tag_rows:
        conn.execute(article_tags.insert(), tag_rows)


def _mark_dirty(conn: Connection, keys: set[tuple[str, str]]) -> None:
    """Bump each feed key's change counter, adding the keys not seen before. One upsert (INSERT ... ON
    CONFLICT), in sorted order: two writers adding the same new key never refuse each other's batch, and
    concurrent writers lock the rows in the same order (no deadlock)."""
    if not keys:
        return
    seq = (conn.execute(select(func.coalesce(func.max(dirty_feeds.c.seq), 0))).scalar_one() or 0) + 1
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(dirty_feeds)
    stmt = stmt.on_conflict_do_update(index_elements=[dirty_feeds.c.kind, dirty_feeds.c.code],
                                      set_={"seq": stmt.excluded.seq})
    conn.execute(stmt, [{"kind": k, "code": c, "seq": seq} for k, c in sorted(keys)])
