"""The part of the Store every mixin shares: the engine, transactions, migrations, a key-value table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from feedpipe.core.errors import StoreError
from feedpipe.store import schema
from feedpipe.store.engine import make_engine, read_tx, write_tx
from feedpipe.store.migrate import migrate


class StoreBase:
    """Holds the engine. Every public method runs in its own transaction unless it says otherwise."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, url: str, *, now: datetime) -> StoreBase:
        """Open (creating on first use) the database at `url` and bring its schema up to date."""
        engine = make_engine(url)
        try:
            with write_tx(engine) as conn:
                migrate(conn, now)
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the store {url}: {exc.orig}",
                "check the --store URL / FEEDPIPE_STORE, that the folder is writable and the server is up",
            ) from exc
        return cls(engine, url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def write(self):
        return write_tx(self.engine)

    def read(self):
        return read_tx(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def get_meta(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str | None) -> None:
        with self.write() as conn:
            conn.execute(schema.meta.delete().where(schema.meta.c.key == key))
            if value is not None:
                conn.execute(schema.meta.insert().values(key=key, value=value))

    def integrity_ok(self) -> bool:
        """SQLite's own check; other databases look after themselves."""
        if not self.is_sqlite:
            return True
        with self.read() as conn:
            return conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    def schema_versions(self) -> list[int]:
        with self.read() as conn:
            return list(conn.execute(select(schema.schema_migrations.c.version)).scalars())
