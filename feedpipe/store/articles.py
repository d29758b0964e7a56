"""Articles in the store: upsert keyed by canonical URL (or source + guid), tag index, queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.store import schema

A = schema.articles
T = schema.article_tags

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


def article_to_row(article: Article) -> dict:
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


def row_to_article(row) -> Article:
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
    )


def feed_keys(row: dict) -> set[tuple[str, str]]:
    """The feeds an article appears in: all, each focus country, each topic, its section."""
    keys = {("all", "")}
    keys |= {("country", c["code"]) for c in row["countries"] if c["role"] == "focus"}
    keys |= {("topic", t["code"]) for t in row["topics"]}
    if row["section"]:
        keys.add(("section", row["section"]))
    return keys


def _tag_rows(row: dict) -> list[dict]:
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
    return out


class ArticlesMixin:
    def upsert_articles(self, articles: Iterable[Article], *, now: datetime) -> UpsertResult:
        """Insert new articles and update changed ones in place, in one write transaction.

        An article is the same as a stored one when its id (hash of canonical URL) matches, or its
        source and guid match. An edited article keeps its id and `first_seen_at`; its `updated_at`
        becomes the source's updated date or `now`. A missing published date becomes `now`.
        """
        batch: dict[str, dict] = {}
        for article in articles:
            batch[article.id] = article_to_row(article)
        if not batch:
            return UpsertResult()
        new, updated, unchanged = [], [], []
        inserts: list[dict] = []
        tagged: list[dict] = []  # rows whose tag index is rewritten
        dirty: set[tuple[str, str]] = set()
        with self.write() as conn:
            existing = _existing(conn, list(batch.values()))
            for row in batch.values():
                old = existing.get(row["id"]) or existing.get(("guid", row["source"], row["guid"]))
                if old is None:
                    row.update(first_seen_at=now, changed_at=now)
                    row["published_at"] = row["published_at"] or now
                    inserts.append(row)
                    tagged.append(row)
                    dirty |= feed_keys(row)
                    new.append(row["id"])
                    continue
                row["id"] = old["id"]
                row["published_at"] = row["published_at"] or old["published_at"]
                if all(row[k] == old[k] for k in _COMPARED):
                    unchanged.append(row["id"])
                    continue
                if row["updated_at"] is None or (old["updated_at"] and row["updated_at"] <= old["updated_at"]):
                    row["updated_at"] = now
                row["changed_at"] = now
                values = {k: v for k, v in row.items() if k not in ("id", "first_seen_at")}
                conn.execute(A.update().where(A.c.id == old["id"]).values(**values))
                tagged.append(row)
                dirty |= feed_keys(row) | feed_keys(old)
                updated.append(row["id"])
            if inserts:  # one executemany for the whole batch: the per-row overhead is the cost here
                conn.execute(A.insert(), inserts)
            _replace_tags(conn, tagged)
            _mark_dirty(conn, dirty)
        return UpsertResult(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged))

    def get_article(self, article_id: str) -> Article | None:
        with self.read() as conn:
            row = conn.execute(select(A).where(A.c.id == article_id)).first()
        return row_to_article(row) if row else None

    def get_article_by_url(self, canonical_url: str) -> Article | None:
        with self.read() as conn:
            row = conn.execute(select(A).where(A.c.canonical_url == canonical_url)).first()
        return row_to_article(row) if row else None

    def articles(
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
    ) -> list[Article]:
        """Stored articles, newest published first (then id, so the order is stable).

        `since`/`until` bound the published date (until exclusive); `country` matches any role
        unless `country_role` is given; `topic` is a code such as "medtop:11000000" or "sub:sanctions".
        """
        query = select(A)
        if since is not None:
            query = query.where(A.c.published_at >= since)
        if until is not None:
            query = query.where(A.c.published_at < until)
        if source is not None:
            query = query.where(A.c.source == source)
        if ids is not None:
            query = query.where(A.c.id.in_(list(ids)))
        for kind, code, role in (("country", country, country_role), ("topic", topic, None),
                                 ("section", section, None)):
            if code is None:
                continue
            cond = and_(T.c.kind == kind, T.c.code == (code.upper() if kind == "country" else code))
            if role:
                cond = and_(cond, T.c.role == role)
            query = query.where(A.c.id.in_(select(T.c.article_id).where(cond)))
        query = query.order_by(A.c.published_at.desc(), A.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.read() as conn:
            return [row_to_article(r) for r in conn.execute(query)]

    def iter_articles(self, batch_size: int = 500) -> Iterator[list[Article]]:
        """All articles in id order, a batch at a time, so a retag of a large store stays flat in memory."""
        last = ""
        while True:
            with self.read() as conn:
                rows = conn.execute(select(A).where(A.c.id > last).order_by(A.c.id).limit(batch_size)).all()
            if not rows:
                return
            yield [row_to_article(r) for r in rows]
            last = rows[-1]._mapping["id"]

    def count_articles(self, source: str | None = None) -> int:
        query = select(func.count()).select_from(A)
        if source is not None:
            query = query.where(A.c.source == source)
        with self.read() as conn:
            return conn.execute(query).scalar_one()

    def tag_codes(self, kind: str, *, role: str | None = None) -> list[str]:
        """Every code of one tag kind in use, e.g. all focus countries; sorted."""
        query = select(T.c.code).where(T.c.kind == kind).distinct()
        if role:
            query = query.where(T.c.role == role)
        with self.read() as conn:
            return sorted(conn.execute(query).scalars())

    def dirty_feed_keys(self) -> dict[tuple[str, str], int]:
        """Feed keys whose articles changed since they were last cleared, each with its change counter.

        Pass the result back to `clear_dirty_feeds` after building: a key changed again meanwhile
        (its counter moved) stays dirty, so no change is lost to a build running beside an ingest.
        """
        D = schema.dirty_feeds
        with self.read() as conn:
            return {(r.kind, r.code): r.seq for r in conn.execute(select(D.c.kind, D.c.code, D.c.seq))}

    def clear_dirty_feeds(self, keys: dict[tuple[str, str], int] | Iterable[tuple[str, str]]) -> None:
        """Forget dirty keys: with a mapping from `dirty_feed_keys`, only those not changed since."""
        D = schema.dirty_feeds
        items = list(keys.items()) if isinstance(keys, dict) else [(k, None) for k in keys]
        if not items:
            return
        with self.write() as conn:
            for (kind, code), seq in items:
                cond = and_(D.c.kind == kind, D.c.code == code)
                if seq is not None:
                    cond = and_(cond, D.c.seq == seq)
                conn.execute(D.delete().where(cond))


def _existing(conn: Connection, rows: list[dict]) -> dict:
    """Stored rows matching the batch, by id and by ("guid", source, guid)."""
    found: dict = {}
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        for r in conn.execute(select(A).where(A.c.id.in_(ids[start : start + 500]))):
            found[r.id] = dict(r._mapping)
    by_source: dict[str, list[str]] = {}
    for r in rows:
        if r["id"] not in found and r["guid"]:
            by_source.setdefault(r["source"], []).append(r["guid"])
    for source, guids in by_source.items():
        for start in range(0, len(guids), 500):
            query = select(A).where(A.c.source == source, A.c.guid.in_(guids[start : start + 500]))
            for old in conn.execute(query):
                found[("guid", source, old.guid)] = dict(old._mapping)
    return found


def _replace_tags(conn: Connection, rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), 500):
        conn.execute(T.delete().where(T.c.article_id.in_(ids[start : start + 500])))
    tag_rows = [t for row in rows for t in _tag_rows(row)]
    if tag_rows:
        conn.execute(T.insert(), tag_rows)


def _mark_dirty(conn: Connection, keys: set[tuple[str, str]]) -> None:
    if not keys:
        return
    D = schema.dirty_feeds
    seq = (conn.execute(select(func.coalesce(func.max(D.c.seq), 0))).scalar_one() or 0) + 1
    stored = {(r.kind, r.code) for r in conn.execute(select(D.c.kind, D.c.code))}
    fresh = [{"kind": k, "code": c, "seq": seq} for k, c in keys - stored]
    if fresh:
        conn.execute(D.insert(), fresh)
    again = [{"k": kind, "c": code} for kind, code in keys & stored]
    if again:
        conn.execute(D.update().where(D.c.kind == bindparam("k"), D.c.code == bindparam("c")).values(seq=seq), again)
