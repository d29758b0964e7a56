"""Open a database by URL: SQLite (WAL, busy timeout, BEGIN IMMEDIATE for writes) or PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from feedpipe.core.errors import StoreError

BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite, create the folder and set the pragmas every connection needs."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL {url!r} is not a database URL",
            "use sqlite:///var/feedpipe.db or postgresql+psycopg://user@host/db",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"store URL {url!r} needs the PostgreSQL driver", "pip install 'feedpipe[postgres]'"
            ) from exc
    raise StoreError(f"store URL {url!r}: unsupported database", "use a sqlite:/// or postgresql:// URL")


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL so readers never block the writer; writes take the lock up front (no mid-transaction
    'database is locked'); pysqlite's own transaction handling is switched off so that ours is used."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("feedpipe_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction: on SQLite it holds the write lock from its first statement."""
    with engine.connect() as conn:
        conn = conn.execution_options(feedpipe_write=True)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


class Database:
    """The one engine every repository shares, and its two kinds of transaction.

    `batch()` groups the writes of one thread into one transaction: inside it, each `write()` is a
    SAVEPOINT of that transaction (a failed one is undone alone, as its own transaction would be) and
    each `read()` sees what the batch wrote so far; all of it is committed when the batch ends, or none."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._batch = threading.local()  # this thread's open batch connection, if any

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if getattr(self._batch, "conn", None) is not None:  # already in one: it holds the writes
            yield
            return
        try:
            with write_tx(self.engine) as conn:
                self._batch.conn = conn
                try:
                    yield
                finally:
                    self._batch.conn = None
        except DBAPIError as exc:  # the database refused the batch as a whole: none of it was committed
            raise StoreError(f"the store refused a batch of writes: {str(exc.orig or exc)[:300]}",
                             "nothing of the batch was kept; write it again (ingest stores each source alone then)"
                             ) from exc

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        conn: Connection | None = getattr(self._batch, "conn", None)
        return write_tx(self.engine) if conn is None else _savepoint(conn)

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        conn: Connection | None = getattr(self._batch, "conn", None)
        return read_tx(self.engine) if conn is None else contextlib.nullcontext(conn)


@contextlib.contextmanager
def _savepoint(conn: Connection) -> Iterator[Connection]:
    with conn.begin_nested():
        yield conn
