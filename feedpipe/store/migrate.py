"""Schema migrations, recorded in `schema_migrations` so each runs once per database.

Each part of the store contributes its own numbered migrations (articles 1-99, digest
100-199, service 200-299, article dates 300-309, scale-out 400-499 in `work_schema`, feed publishing
360-369 in `html_policy_schema`), so modules can grow their tables without touching each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from feedpipe.store import (
    date_migrations,
    desk,
    digest_schema,
    html_policy_schema,
    hygiene_schema,
    language_schema,
    schema,
    service_schema,
    subscriber_identity,
    suppression,
    work_schema,
)
from feedpipe.store.migration import Migration, add_column, create_tables


def _v2(conn: Connection) -> None:
    """A covering index for per-feed queries, and a change counter on dirty feed keys."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_article_tags_kind_code")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_article_tags_lookup ON article_tags (kind, code, role, article_id)"
    )
    add_column(conn, "dirty_feeds", "seq", "INTEGER NOT NULL DEFAULT 0")


def _v4(conn: Connection) -> None:
    """Consecutive failures of a source, and when it was paused for them."""
    add_column(conn, "sources", "failures", "INTEGER NOT NULL DEFAULT 0")
    add_column(conn, "sources", "paused_at", "TIMESTAMP")


CORE = [
    Migration(
        version=1,
        name="articles, tags, sources, meta",
        apply=create_tables(schema.articles, schema.article_tags, schema.dirty_feeds, schema.sources, schema.meta),
    ),
    Migration(version=2, name="covering tag index, dirty-feed change counter", apply=_v2),
    Migration(version=3, name="sources.ttl_minutes", apply=lambda conn: add_column(conn, "sources", "ttl_minutes",
                                                                                  "INTEGER")),
    Migration(version=4, name="sources.failures, sources.paused_at", apply=_v4),
]

def all_migrations() -> list[Migration]:
    found = [*CORE, *digest_schema.MIGRATIONS, *subscriber_identity.MIGRATIONS, *service_schema.MIGRATIONS,
             *date_migrations.MIGRATIONS, *language_schema.MIGRATIONS, *work_schema.MIGRATIONS,
             *desk.MIGRATIONS, *suppression.MIGRATIONS, *hygiene_schema.MIGRATIONS,
             *html_policy_schema.MIGRATIONS]
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions: {sorted(versions)}")
    return sorted(found, key=lambda m: m.version)


def migrate(conn: Connection, now: datetime) -> list[Migration]:
    """Apply the migrations this database has not seen yet; return them."""
    schema.schema_migrations.create(conn, checkfirst=True)
    done = set(conn.execute(select(schema.schema_migrations.c.version)).scalars())
    applied = []
    for migration in all_migrations():
        if migration.version in done:
            continue
        migration.apply(conn)
        conn.execute(
            schema.schema_migrations.insert().values(
                version=migration.version, name=migration.name, applied_at=now
            )
        )
        applied.append(migration)
    return applied
