"""How the article repository writes: the upsert of one or several groups of articles in one transaction
(`write_groups`), the tag index and the dirty feed keys.

Several groups (ingest: one per source) are written with one set of statements (one lookup of the stored
rows, one INSERT of the new rows, one of their tags, one of the dirty keys) only when that gives exactly
what writing them one group at a time would: `independent` takes the leading groups that touch no stored
row another of them touches, and no source another of them names or takes rows from. A later group is
written after them, looking the store up again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, String, exists, func, literal, select, union_all

from feedpipe.core.html_stamp import html_stamp
from feedpipe.core.model import Article
from feedpipe.extract.dates import settle, sort_time
from feedpipe.store.schema import article_tags, articles, dirty_feeds

# Fields whose change makes a stored article "updated" (and its feeds dirty).
COMPARED = (
    "canonical_url", "title", "summary", "content_html", "text", "published_at", "authors", "image", "image_alt",
    "categories", "language", "section", "countries", "topics", "content_hash",
)


@dataclass(frozen=True, kw_only=True)
class UpsertResult:
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """One upsert's articles as rows, by id (a later article with the same id replaces an earlier one)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    given: dict[str, Article] = field(default_factory=dict)
    source: str | None = None  # the source whose articles these are, when known: an empty group still has one


def group(items: Iterable[Article], source: str | None = None) -> Group:
    out = Group(source=source)
    for article in items:
        out.rows[article.id], out.given[article.id] = article_to_row(article), article
    return out


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


Existing = dict[Any, dict[str, Any]]


def _old(existing: Existing, row: dict[str, Any]) -> dict[str, Any] | None:
    """The stored row an incoming one is the same article as: same id, else same source and guid."""
    return existing.get(row["id"]) or existing.get(("guid", row["source"], row["guid"]))


def independent(groups: Sequence[Group], existing: Existing) -> int:
    """How many leading groups can be written together with the result of writing them one by one: no
    two touch the same stored row or article id, and none names a source another names or takes a stored
    row from (an update moves a row to its new source; "first ingest" and a source's count depend on
    which rows a source has). At least 1."""
    rows_seen: set[str] = set()
    sources_seen: set[str] = set()
    for count, g in enumerate(groups):
        olds = [old for row in g.rows.values() if (old := _old(existing, row)) is not None]
        touched = set(g.rows) | {old["id"] for old in olds}
        sources = {row["source"] for row in g.rows.values()} | {old["source"] for old in olds}
        if g.source is not None:  # a source that sent nothing this time still owns its stored rows
            sources.add(g.source)
        if count and (touched & rows_seen or sources & sources_seen):
            return count
        rows_seen |= touched
        sources_seen |= sources
    return max(1, len(groups))


def write_groups(conn: Connection, groups: Sequence[Group], *, existing: Existing, first: set[str],
                 now: datetime) -> list[UpsertResult]:
    """Insert new articles and update changed ones, group after group as `upsert` describes, with one
    INSERT for all the new rows and their tags and one update of the dirty feed keys. `groups` must be
    `independent`; `existing` holds their stored rows; `first` names the sources whose first ingest this is."""
    results: list[UpsertResult] = []
    inserts: list[dict[str, Any]] = []
    tagged: list[dict[str, Any]] = []  # rows whose tag index is rewritten
    stale: list[str] = []  # updated rows: their old tags go first
    dirty: list[set[tuple[str, str]]] = []  # each group's feed keys
    for g in groups:
        new: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        keys: set[tuple[str, str]] = set()
        for article_id, given_row in g.rows.items():
            row = dict(given_row)  # g stays as given: a refused write is tried again from it
            old = _old(existing, row)
            article = g.given[article_id]
            if old is None:
                row.update(first_seen_at=now, changed_at=now)
                row["published_at"] = settle(row["published_at"], first_seen=now, label=row["url"])
                row["sort_at"] = sort_time(row["published_at"], first_seen=now, backfill=row["source"] in first)
                row["html_policy"] = html_stamp(article)  # lets a feed skip sanitising this HTML again
                inserts.append(row)
                tagged.append(row)
                keys |= feed_keys(row)
                new.append(row["id"])
                continue
            row["id"] = old["id"]
            row["published_at"] = settle(row["published_at"] or old["published_at"],
                                         first_seen=old["first_seen_at"], label=row["url"])
            row["sort_at"] = row["published_at"] or old["sort_at"]
            if all(row[k] == old[k] for k in COMPARED):
                unchanged.append(row["id"])
                continue
            if row["updated_at"] is None or (old["updated_at"] and row["updated_at"] <= old["updated_at"]):
                row["updated_at"] = now
            row["changed_at"] = now
            row["html_policy"] = html_stamp(article)  # (only for rows written: it costs an nh3 pass)
            values = {k: v for k, v in row.items() if k not in ("id", "first_seen_at")}
            conn.execute(articles.update().where(articles.c.id == old["id"]).values(**values))
            tagged.append(row)
            stale.append(row["id"])
            keys |= feed_keys(row) | feed_keys(old)
            updated.append(row["id"])
        results.append(UpsertResult(new=tuple(new), updated=tuple(updated), unchanged=tuple(unchanged)))
        dirty.append(keys)
    if inserts:  # one executemany for all of them: the per-statement overhead is the cost here
        conn.execute(articles.insert(), inserts)
    _replace_tags(conn, tagged, stale=stale)  # a new article has no tags to delete
    _mark_dirty(conn, dirty)
    return results


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


def known_sources(conn: Connection, names: set[str]) -> set[str]:
    """The sources among `names` with at least one stored article (not a first ingest): one statement,
    an EXISTS per name (each one index probe, however many articles a source has)."""
    found: set[str] = set()
    ordered = sorted(names)
    for start in range(0, len(ordered), 100):
        probes = [select(literal(name, String).label("source")).where(exists().where(articles.c.source == name))
                  for name in ordered[start : start + 100]]
        found.update(conn.execute(union_all(*probes)).scalars())
    return found


def existing_rows(conn: Connection, rows: list[dict[str, Any]]) -> Existing:
    """Stored rows matching the batch, by id and by ("guid", source, guid)."""
    found: Existing = {}
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


def _mark_dirty(conn: Connection, groups: list[set[tuple[str, str]]]) -> None:
    """Bump each feed key's change counter, adding the keys not seen before: each group that changed
    something takes the next counter value, as one upsert per group would. One statement (INSERT ... ON
    CONFLICT), in sorted order: two writers adding the same new key never refuse each other's batch, and
    concurrent writers lock the rows in the same order (no deadlock)."""
    if not any(groups):
        return
    seq = (conn.execute(select(func.coalesce(func.max(dirty_feeds.c.seq), 0))).scalar_one() or 0)
    counters: dict[tuple[str, str], int] = {}
    for keys in groups:
        if keys:
            seq += 1
            counters.update(dict.fromkeys(keys, seq))
    # The dialect's INSERT ... ON CONFLICT, imported for the database in use (PostgreSQL's alone costs an
    # SQLite run 0.05 s of imports)
    stmt: Executable
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: PLC0415

        pg = pg_insert(dirty_feeds)
        stmt = pg.on_conflict_do_update(index_elements=[dirty_feeds.c.kind, dirty_feeds.c.code],
                                        set_={"seq": pg.excluded.seq})
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # noqa: PLC0415

        lite = sqlite_insert(dirty_feeds)
        stmt = lite.on_conflict_do_update(index_elements=[dirty_feeds.c.kind, dirty_feeds.c.code],
                                          set_={"seq": lite.excluded.seq})
    conn.execute(stmt, [{"kind": k, "code": c, "seq": counters[(k, c)]} for k, c in sorted(counters)])
