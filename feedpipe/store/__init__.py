"""The store: one `Store` interface over SQLite (default) or PostgreSQL, through SQLAlchemy Core.

`Store.open(url, now=...)` creates the database on first use and applies pending migrations.
The mixins' docstrings are the contract.
"""

from __future__ import annotations

from feedpipe.store.articles import ArticlesMixin, UpsertResult
from feedpipe.store.base import StoreBase
from feedpipe.store.digest import DigestMixin
from feedpipe.store.service import ServiceMixin
from feedpipe.store.sources import SourcesMixin, SourceState


class Store(ArticlesMixin, SourcesMixin, DigestMixin, ServiceMixin, StoreBase):
    """Articles, sources, subscribers, editions, the send ledger, and the scheduler lease."""


__all__ = ["Store", "SourceState", "UpsertResult"]
