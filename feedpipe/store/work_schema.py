"""Tables of the scale-out side of the store: live workers, the task queue, the shared send rate, and
who holds a batch of an edition's send ledger (v400+).

The leader enqueues; workers claim. A claim is a holder (host:pid:random) and an expiry: a worker
renews its claims while it works, and a dead worker's claims return to the pool when they expire
(or at once when the holder is a dead process of the claimer's host).
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Index, Integer, String, Table, Text

from feedpipe.store.migration import Migration, add_column, create_tables
from feedpipe.store.schema import UTCDateTime, metadata

# One row per live worker (and per leader or follower `serve`), refreshed by its heartbeat.
workers = Table(
    "workers",
    metadata,
    Column("holder", String(200), primary_key=True),  # host:pid:random (leases.make_holder)
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # worker | leader | follower
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("doing", Text),  # what it holds now, e.g. "ingest bbc" or "send 2026-W48 (200 rows)"
    Column("doing_since", UTCDateTime),
)

# The work the leader found due: "ingest" (key: the source's name, host: its URL's host, for
# politeness across workers) and "feeds" (key: "dirty", rebuild the changed feeds).
tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("key", String(300), nullable=False),
    Column("host", String(255)),
    Column("enqueued_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(200)),
    Column("claimed_at", UTCDateTime),
    Column("claim_expires_at", UTCDateTime),
    Column("done_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("outcome", Text),
)
Index("ix_tasks_open", tasks.c.done_at, tasks.c.kind, tasks.c.id)
Index("ix_tasks_key", tasks.c.kind, tasks.c.key, tasks.c.done_at)

# A token bucket per name ("send"): every worker takes its tokens from the same row.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


def _ledger_claims(conn: Connection) -> None:
    """Which worker holds a pending row of an edition's send, and until when."""
    add_column(conn, "send_ledger", "claimed_by", "VARCHAR(200)")
    add_column(conn, "send_ledger", "claim_expires_at", "TIMESTAMP")


MIGRATIONS = [
    Migration(version=400, name="scale-out: workers, tasks, rate buckets",
              apply=create_tables(workers, tasks, rate_buckets)),
    Migration(version=401, name="scale-out: send_ledger.claimed_by, claim_expires_at", apply=_ledger_claims),
]

__all__ = ["MIGRATIONS", "rate_buckets", "tasks", "workers"]
