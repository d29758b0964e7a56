"""SQLAlchemy Core tables of the article side of the store, and the UTC datetime type."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: feedpipe stores timezone-aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


articles = Table(
    "articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("canonical_url", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("guid", Text),
    Column("source", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("content_html", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("authors", JSON, nullable=False, default=list),
    Column("image", Text),
    Column("image_alt", Text),
    Column("categories", JSON, nullable=False, default=list),
    Column("language", String(20)),
    Column("section", String(50)),
    Column("countries", JSON, nullable=False, default=list),
    Column("topics", JSON, nullable=False, default=list),
    Column("content_hash", String(64), nullable=False, default=""),
    Column("extra", JSON, nullable=False, default=dict),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    # Where the article sits in the feeds (extract.dates.sort_time): published_at, else first_seen_at,
    # NULL for an undated article of a source's first ingest (below every dated one). Migration 300.
    Column("sort_at", UTCDateTime),
    # `core.html_stamp.html_stamp` of content_html when stored: it is published without a second nh3 pass
    # when the stamp still holds; NULL (rows stored before migration 360) = sanitised when published.
    Column("html_policy", String(80)),
)
# Not unique: podcast-style feeds give many items one link, told apart by their guids.
Index("ix_articles_canonical_url", articles.c.canonical_url)
Index("ix_articles_published", articles.c.published_at)
Index("ix_articles_changed", articles.c.changed_at)
Index("ix_articles_sort", articles.c.sort_at)
Index("ix_articles_source_guid", articles.c.source, articles.c.guid)

# One row per (article, tag) so that per-country / per-topic / per-section queries use an index.
article_tags = Table(
    "article_tags",
    metadata,
    Column("article_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # country | topic | section
    Column("code", String(64), primary_key=True),
    Column("role", String(16)),  # focus | mention for countries
    Column("score", JSON),
    # The article's sort_at, copied (migration 361): a feed's newest ids come from one index range
    # (ix_article_tags_newest, made by the migration) without touching the articles table.
    Column("sort_at", UTCDateTime),
)
# Covers the per-feed queries (kind, code[, role]) → article ids without touching the table.
Index("ix_article_tags_lookup", article_tags.c.kind, article_tags.c.code, article_tags.c.role,
      article_tags.c.article_id)

# Feed keys whose content changed since the feeds were last built: ("all", ""), ("country", "UA"), ...
dirty_feeds = Table(
    "dirty_feeds",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, default=0),  # bumped on every change, see FeedCatalogue.clear_dirty
)

sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetch_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("status", String(32)),  # ok | not-modified | error | paused | resumed
    Column("error", Text),
    Column("retry_after_until", UTCDateTime),
    Column("ttl_minutes", Integer),  # the feed's own <ttl>
    Column("last_new", Integer, nullable=False, default=0),
    Column("last_updated", Integer, nullable=False, default=0),
    Column("last_unchanged", Integer, nullable=False, default=0),
    Column("last_failed", Integer, nullable=False, default=0),
    Column("total_articles", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0, server_default="0"),  # consecutive failed fetches
    Column("paused_at", UTCDateTime),  # paused after too many failures, until resumed
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text),
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)
