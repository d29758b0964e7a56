"""Migrations for publishing feeds faster (versions 360-369).

Version 360 adds `articles.html_policy` (see `core.html_stamp.html_stamp`): the store writes it with every
article it stores; rows stored before stay NULL, and a feed sanitises their HTML when it publishes them,
as it did before.

Version 361 copies each article's `sort_at` into its tag rows and indexes (kind, code, sort_at, id): a
feed's newest ids are then one short index range (`catalogue.CatalogueSnapshot.newest_ids`), in the
store's order, newest first, undated (NULL) last. The upsert writes the copy with the tag rows, which
it rewrites whenever an article changes.
"""

from __future__ import annotations

from sqlalchemy import Connection

from feedpipe.store.migration import Migration, add_column


def _v360(conn: Connection) -> None:
    add_column(conn, "articles", "html_policy", "VARCHAR(80)")


def _v361(conn: Connection) -> None:
    add_column(conn, "article_tags", "sort_at", "TIMESTAMP")
    conn.exec_driver_sql(
        "UPDATE article_tags SET sort_at = (SELECT articles.sort_at FROM articles WHERE articles.id = article_tags.article_id)"
    )
    # SQLite sorts NULL first, so a DESC column lists it last; PostgreSQL is told so.
    nulls = " NULLS LAST" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_article_tags_newest ON article_tags "
        f"(kind, code, sort_at DESC{nulls}, article_id DESC, role)"
    )


MIGRATIONS = [
    Migration(version=360, name="articles.html_policy: the stamp of the stored HTML", apply=_v360),
    Migration(version=361, name="article_tags.sort_at and the newest-first index per tag", apply=_v361),
]
