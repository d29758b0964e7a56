"""Many rows into one table at the driver's speed: the INSERT is compiled once for the connection's
dialect and run with the DBAPI's `executemany`, and each column's bind processing (UTCDateTime to naive
UTC, JSON to text) is done once per distinct value instead of once per row, which is where
SQLAlchemy's own executemany spends most of its time on a batch of thousands of rows.

    insert = BulkInsert(conn, subscribers, ("email", "status", "created_at"))
    insert.run([("anna@example.org", "active", now), ...])

Values must be hashable (a tuple for a JSON list) so that their processed form can be kept.
SQLite and PostgreSQL alike: the SQL is SQLAlchemy's, in the dialect's own parameter style.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table

_CACHE = 1024  # processed values kept per column (a batch holds a few distinct dates and preference sets)


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
        self._process = [(slot, i, process) for slot, (i, process) in enumerate(zip(self._order, processors, strict=True))
                         if process is not None]
        self._in_order = self._order == list(range(len(columns)))

    def run(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert the rows in one executemany; how many there were."""
        order, process, names = self._order, self._process, self._names
        done: list[dict[Hashable, Any]] = [{} for _ in process]  # processed values, per column, this batch
        params: list[Any] = []
        for row in rows:
            values = list(row) if self._in_order else [row[i] for i in order]
            for (slot, i, convert), seen in zip(process, done, strict=True):
                value = row[i]
                if value is not None:
                    found = seen.get(value)
                    if found is None:
                        if len(seen) >= _CACHE:
                            seen.clear()
                        found = seen[value] = convert(value)
                    values[slot] = found
            params.append(tuple(values) if self._positional else dict(zip(names, values, strict=True)))
        if params:
            self._conn.exec_driver_sql(self._sql, params)
        return len(params)
