"""Store meta: a small key-value table for the store's own bookkeeping (e.g. the last feed build)."""

from __future__ import annotations

from sqlalchemy import select

from feedpipe.store.engine import Database
from feedpipe.store.schema import meta


class MetaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        with self._db.read() as conn:
            value: str | None = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
            return value

    def set(self, key: str, value: str | None) -> None:
        """Store `value` under `key`; None deletes the key."""
        with self._db.write() as conn:
            conn.execute(meta.delete().where(meta.c.key == key))
            if value is not None:
                conn.execute(meta.insert().values(key=key, value=value))
