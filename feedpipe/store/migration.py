"""One schema migration: a version, a name and what it does. Each part of the schema lists its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, inspect


@dataclass(frozen=True, kw_only=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def add_column(conn: Connection, table: str, column: str, ddl: str) -> None:
    """ALTER TABLE ... ADD COLUMN unless the column is there (a database half-migrated by hand, or
    created by a newer `create_tables`)."""
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def create_tables(*tables: Table) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return apply
