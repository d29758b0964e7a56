"""The feed catalogue: which feeds the stored tags call for, how many articles each has, their
newest entries, and the feed keys whose articles changed since the last build."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Text, and_, bindparam, func, select, type_coerce

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.store.articles import NEWEST_FIRST
from feedpipe.store.engine import Database
from feedpipe.store.schema import article_tags, articles, dirty_feeds

FeedKey = tuple[str, str]  # (kind, code): ("all", ""), ("country", "UA"), ("topic", ...), ("section", ...)

# The columns a feed shows (not the plain text body, the extra data or the source's categories).
_FEED_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.canonical_url,
    articles.c.guid,
    articles.c.source,
    articles.c.title,
    articles.c.summary,
    articles.c.content_html,
    articles.c.published_at,
    articles.c.updated_at,
    articles.c.first_seen_at,
    type_coerce(articles.c.authors, Text),  # JSON decoded by `_Decoder`, once per distinct text
    articles.c.image,
    articles.c.image_alt,
    articles.c.language,
    articles.c.section,
    type_coerce(articles.c.countries, Text),
    type_coerce(articles.c.topics, Text),
    articles.c.html_policy,
)
# Built once: building and caching a statement per feed cost more than running it.
_ROWS_BY_ID = select(*_FEED_COLUMNS).where(articles.c.id.in_(bindparam("ids", expanding=True)))
_ORDER = NEWEST_FIRST  # published, else first seen; undated articles of a source's first ingest last
_NEWEST_ALL = select(articles.c.id).order_by(*_ORDER).limit(bindparam("limit"))


def _newest_tagged(role: bool) -> Select[tuple[str]]:
    """The newest ids carrying one tag (kind, code[, role]): one range of `ix_article_tags_newest`,
    whose rows carry each article's sort_at (migration 361), so the articles table is not read."""
    cond = [article_tags.c.kind == bindparam("kind"), article_tags.c.code == bindparam("code")]
    if role:
        cond.append(article_tags.c.role == "focus")
    return (
        select(article_tags.c.article_id)
        .where(*cond)
        .order_by(article_tags.c.sort_at.desc().nulls_last(), article_tags.c.article_id.desc())  # = NEWEST_FIRST
        .limit(bindparam("limit"))
    )


_NEWEST_TAGGED = {role: _newest_tagged(role) for role in (False, True)}


T = TypeVar("T")


def _country_tags(countries: Any) -> tuple[CountryTag, ...]:
    return tuple(
        CountryTag(code=c["code"], name=c.get("name") or c["code"], role=c["role"], score=c.get("score") or 0.0)
        for c in countries or () if c["role"] == "focus"
    )


def _topic_tags(topics: Any) -> tuple[TopicTag, ...]:
    return tuple(
        TopicTag(code=t["code"], label=t.get("label") or t["code"], score=t.get("score") or 0.0)
        for t in topics or ()
    )


def _authors(authors: Any) -> tuple[str, ...]:
    return tuple(authors or ())


class _Decoder:
    """Rows of `_FEED_COLUMNS` to Articles for one build. The JSON columns (authors, countries, topics)
    come as text and each distinct text is decoded once: many articles share a source's authors and
    the same tags, and the tag objects are immutable. (A driver that decodes JSON itself, such as
    psycopg, hands over lists: those are converted each time.)"""

    def __init__(self) -> None:
        self._memo: tuple[dict[str, Any], ...] = ({}, {}, {})

    def _decoded(self, slot: int, value: Any, make: Callable[[Any], T]) -> T:
        if not isinstance(value, str):
            return make(value)
        memo = self._memo[slot]
        found = memo.get(value)
        if found is None:
            found = memo[value] = make(json.loads(value))
        return found

    def article(self, row: Sequence[Any]) -> Article:
        """An Article from a row, by position (the hot path of a feed build: no name lookups, no
        missing-column fallbacks); what a feed does not show stays empty: the plain text, categories,
        extra data, content hash, tag evidence and the countries that are not in focus."""
        (aid, url, canonical, guid, source, title, summary, content_html, published_at, updated_at, first_seen_at,
         authors, image, image_alt, language, section, countries, topics, html_policy) = row
        return Article(
            id=aid, url=url, canonical_url=canonical, guid=guid, source=source, title=title,
            summary=summary or "", content_html=content_html or "", published_at=published_at,
            updated_at=updated_at, first_seen_at=first_seen_at, authors=self._decoded(0, authors, _authors),
            image=image, image_alt=image_alt, language=language, section=section, html_policy=html_policy,
            countries=self._decoded(1, countries, _country_tags), topics=self._decoded(2, topics, _topic_tags),
        )


class CatalogueSnapshot:
    """Reads of the catalogue inside one read transaction, so that every feed of a build sees the
    same snapshot of the store."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._decoder = _Decoder()

    def count_articles(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(articles)).scalar_one())

    def tag_stats(
        self, kind: str, role: str | None = None, *, labels: bool = True
    ) -> tuple[dict[str, str], dict[str, int]]:
        """({code: name or label}, {code: article count}) for one tag kind; each label is read from one
        fixed article carrying the tag (the smallest id), so it does not flicker between builds."""
        query = (
            select(article_tags.c.code, func.min(article_tags.c.article_id), func.count())
            .where(article_tags.c.kind == kind)
            .group_by(article_tags.c.code)
        )
        if role:
            query = query.where(article_tags.c.role == role)
        rows = self._conn.execute(query).all()
        counts: dict[str, int] = {code: n for code, _, n in rows}
        if not labels:
            return {code: code for code in counts}, counts
        first: dict[str, str] = {code: article_id for code, article_id, _ in rows}
        column = articles.c.countries if kind == "country" else articles.c.topics
        field = "name" if kind == "country" else "label"
        tags_of: dict[str, list[dict[str, Any]]] = {}
        ids = sorted(set(first.values()))
        for start in range(0, len(ids), 500):
            for article_id, tags in self._conn.execute(
                select(articles.c.id, column).where(articles.c.id.in_(ids[start : start + 500]))
            ):
                tags_of[article_id] = tags or []
        names: dict[str, str] = {}
        for code, article_id in first.items():
            found = [
                t.get(field) for t in tags_of.get(article_id, []) if t.get("code") == code and t.get(field)
            ]
            names[code] = str(found[0]) if found else code
        return names, counts

    def newest_ids(
        self, kind: str, code: str, limit: int, *, tagged: int | None = None, total: int | None = None
    ) -> list[str]:
        """Ids of the feed's newest `limit` articles, in `NEWEST_FIRST` order (as `ArticleRepository.query`:
        published, else first seen, undated articles of a source's first ingest last).

        One index range whatever the tag's size (see `_newest_tagged`); `tagged` and `total` are no
        longer needed to choose a plan and are ignored.
        """
        params: dict[str, str | int] = {"kind": kind, "code": code, "limit": limit}
        query = _NEWEST_ALL if kind == "all" else _NEWEST_TAGGED[kind == "country"]
        return [str(article_id) for article_id in self._conn.execute(query, params).scalars()]

    def newest_articles(
        self,
        kind: str,
        code: str,
        limit: int,
        cache: dict[str, Article] | None = None,
        *,
        tagged: int | None = None,
        total: int | None = None,
    ) -> list[Article]:
        """The feed's newest `limit` articles (only the columns a feed shows). An article is read and
        decoded once per `cache` (one build), however many feeds it appears in. `tagged`/`total`: see
        `newest_ids`."""
        cache = {} if cache is None else cache
        ids = self.newest_ids(kind, code, limit, tagged=tagged, total=total)
        missing = [i for i in ids if i not in cache]
        for start in range(0, len(missing), 500):
            for row in self._conn.execute(_ROWS_BY_ID, {"ids": missing[start : start + 500]}):
                cache[row[0]] = self._decoder.article(row)
        return [cache[i] for i in ids]


class FeedCatalogue:
    """The feeds' side of the store. Every method runs in its own transaction, except inside a
    `snapshot()`, which holds one read transaction for a whole build."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[CatalogueSnapshot]:
        with self._db.read() as conn:
            yield CatalogueSnapshot(conn)

    def dirty_keys(self) -> dict[FeedKey, int]:
        """Feed keys whose articles changed since they were last cleared, each with its change counter.

        Pass the result back to `clear_dirty` after building: a key changed again meanwhile
        (its counter moved) stays dirty, so no change is lost to a build running beside an ingest.
        """
        with self._db.read() as conn:
            return {
                (r.kind, r.code): r.seq
                for r in conn.execute(select(dirty_feeds.c.kind, dirty_feeds.c.code, dirty_feeds.c.seq))
            }

    def clear_dirty(self, keys: dict[FeedKey, int] | Iterable[FeedKey]) -> None:
        """Forget dirty keys: with a mapping from `dirty_keys`, only those not changed since."""
        items: list[tuple[FeedKey, int | None]] = (
            list(keys.items()) if isinstance(keys, dict) else [(k, None) for k in keys]
        )
        if not items:
            return
        with self._db.write() as conn:
            for (kind, code), seq in items:
                cond = and_(dirty_feeds.c.kind == kind, dirty_feeds.c.code == code)
                if seq is not None:
                    cond = and_(cond, dirty_feeds.c.seq == seq)
                conn.execute(dirty_feeds.delete().where(cond))
