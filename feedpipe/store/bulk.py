"""Many rows into one table at the driver's speed: the INSERT is compiled once for the connection's
dialect and run with the DBAPI's `executemany`, and each column's bind processing (UTCDateTime to naive
UTC, JSON to text) is done once per distinct value of the batch instead of once per row, which is where
SQLAlchemy's own executemany spends most of its time on a batch of thousands of rows.

    insert = BulkInsert(conn, subscribers, ("email", "status", "created_at"))
    insert.run([("anna@example.org", "active", now), ...])

Values of a column that needs processing must be hashable (a tuple for a JSON list).
SQLite and PostgreSQL alike: the SQL is SQLAlchemy's, in the dialect's own parameter style.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table


class BulkInsert:
    """One compiled INSERT of `columns` into `table`, run for batches of rows (tuples in that order)."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        if sorted(names) != sorted(columns):  # a column with a default of its own would need a value too
            raise ValueError(f"insert into {table.name}: the statement binds {names}, the rows give {list(columns)}")
        self._conn = conn
        self._sql = str(compiled)
        self._positional = bool(compiled.positional)
        self._names = names
        where = {name: i for i, name in enumerate(columns)}
        self._order = [where[name] for name in names]
        processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        ]
        self._process = [(i, process) for i, process in zip(self._order, processors, strict=True)
                         if process is not None]

    def run(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert the rows in one executemany; how many there were."""
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if not columns:
            return 0
        for i, process in self._process:
            done = {value: process(value) for value in set(columns[i]) if value is not None}
            done[None] = None
            columns[i] = list(map(done.__getitem__, columns[i]))
        ordered = [columns[i] for i in self._order]
        params: list[Any] = list(zip(*ordered, strict=True))
        if not self._positional:
            params = [dict(zip(self._names, values, strict=True)) for values in params]
        self._conn.exec_driver_sql(self._sql, params)
        return len(params)


@contextlib.contextmanager
def roomy_cache(conn: Connection, rows: int) -> Iterator[None]:
    """On SQLite, room in the page cache for a large batch's index pages until its commit (keys, tokens
    and hashes land all over their indexes: with the default 2 MB, pages are written out and read back
    within the transaction); the connection's own size comes back afterwards. Elsewhere: nothing."""
    if conn.dialect.name != "sqlite" or rows < 1000:
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-32768")  # KiB: at most 32 MiB, however large the list
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")
