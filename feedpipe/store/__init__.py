"""The store: one `Store` interface over SQLite (default) or PostgreSQL, through SQLAlchemy Core.

`Store.open(url, now=...)` creates the database on first use and applies pending migrations.
The mixins' docstrings are the contract.
"""

from __future__ import annotations

from feedpipe.store.articles import ArticlesMixin, UpsertResult
from feedpipe.store.base import StoreBase
from feedpipe.store.sources import SourcesMixin, SourceState

_MIXINS: list[type] = [ArticlesMixin, SourcesMixin]
try:  # the digest side of the store, when present
    from feedpipe.store.digest import DigestMixin

    _MIXINS.append(DigestMixin)
except ModuleNotFoundError as exc:  # pragma: no cover - only while the digest part is absent
    if exc.name != "feedpipe.store.digest":
        raise
try:  # the service side (locks/leases), when present
    from feedpipe.store.service import ServiceMixin

    _MIXINS.append(ServiceMixin)
except ModuleNotFoundError as exc:  # pragma: no cover
    if exc.name != "feedpipe.store.service":
        raise


class Store(*_MIXINS, StoreBase):
    """Articles, sources, and (when present) subscribers, editions, send ledger and locks."""


__all__ = ["Store", "SourceState", "UpsertResult"]
