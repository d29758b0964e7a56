"""Article dates (v300+): an undated article keeps `published_at = NULL`; `sort_at` places it in the feeds.

Before v300 the store wrote the ingest time into `published_at` when the source gave no date, so an old
undated article looked "published now" and filled that week's digest. Such rows are recognisable: their
`published_at` equals their `first_seen_at` to the microsecond. v300 gives them back their NULL, and
gives every row its `sort_at` (see `feedpipe.extract.dates.sort_time`): the published date, NULL for
those repaired rows (whether they came with a backfill cannot be told any more; below the dated ones
is the safe place).
"""

from __future__ import annotations

from sqlalchemy import Connection

from feedpipe.store.migration import Migration, add_column


def _v300(conn: Connection) -> None:
    add_column(conn, "articles", "sort_at", "TIMESTAMP")
    conn.exec_driver_sql("UPDATE articles SET published_at = NULL WHERE published_at = first_seen_at")
    conn.exec_driver_sql("UPDATE articles SET sort_at = published_at WHERE sort_at IS NULL")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_articles_sort ON articles (sort_at)")


MIGRATIONS = [
    Migration(version=300, name="articles.sort_at; undated articles keep published_at NULL", apply=_v300),
]
