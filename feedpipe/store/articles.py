"""The article repository: upsert keyed by canonical URL (or source + guid), tag index, queries."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError, StatementError

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.store.article_write import (
    Group,
    UpsertResult,
    existing_rows,
    group,
    independent,
    known_sources,
    write_groups,
)
from feedpipe.store.engine import Database
from feedpipe.store.schema import article_tags, articles

log = logging.getLogger(__name__)


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
        return self._upsert([group(items)], now=now)[1][0]

    def _upsert(self, groups: list[Group], *, now: datetime, first_ingest: set[str] | None = None
                ) -> tuple[int, list[UpsertResult]]:
        """Write the leading `independent` groups in one write transaction: (how many, their results).
        `first_ingest` names the sources whose first ingest this is (default: those with no stored
        article yet)."""
        if not any(g.rows for g in groups):
            return len(groups), [UpsertResult() for _ in groups]
        with self._db.write() as conn:
            rows = [row for g in groups for row in g.rows.values()]
            existing = existing_rows(conn, rows)
            run = groups[:independent(groups, existing)]
            names = {row["source"] for g in run for row in g.rows.values()}
            first = first_ingest if first_ingest is not None else names - known_sources(conn, names)
            return len(run), write_groups(conn, run, existing=existing, first=first, now=now)

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
            first = names - known_sources(conn, names)
        for article in batch:
            try:
                r = self._upsert([group([article])], now=now, first_ingest=first)[1][0]
            except SQLAlchemyError as exc:
                reason = (exc.orig if isinstance(exc, StatementError) else None) or exc
                errors.append(f"{article.url}: not stored: {str(reason)[:200]}")
                continue
            new += r.new
            updated += r.updated
            unchanged += r.unchanged
        return UpsertResult(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged)), errors

    def upsert_groups(self, groups: Iterable[Iterable[Article]], *, now: datetime, sources: Sequence[str] = ()
                      ) -> Iterator[tuple[UpsertResult, list[str]]]:
        """`upsert_each` of each group in turn (ingest: one group per source), yielding each group's
        result once it is stored. The outcome is the one of calling `upsert_each` group by group, with
        what the caller does between two results (ingest records the source's fetch), in fewer
        statements: the groups that touch different stored rows and sources are written together, in one
        SAVEPOINT; when the database refuses that, each of them is stored again on its own by `upsert_each`.
        `sources`, when given, names each group's source: one that sent no article still holds back a later
        group that takes rows from it until its own result is out."""
        names = list(sources)
        pending = [(items, group(items, names[i] if i < len(names) else None))
                   for i, items in enumerate(map(list, groups))]
        window = len(pending)  # the groups looked up together
        while pending:
            considered = pending[:window]
            size = 1
            try:
                size, results = self._upsert([g for _, g in considered], now=now)
            except SQLAlchemyError as exc:
                log.warning("groups of articles refused together by the store (%s); storing the first group on "
                            "its own", type(exc).__name__)
                yield self.upsert_each(considered[0][0], now=now)
            else:
                for result in results:
                    yield result, []
            # after a run cut short by a shared row, look up at most twice as many groups: a chain of
            # conflicts does not look every waiting group up again after each group it stores
            window = len(pending) if size == len(considered) else 2 * size
            pending = pending[size:]

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
