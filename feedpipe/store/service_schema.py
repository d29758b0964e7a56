"""Tables of the service side of the store: leases (who runs the scheduled work) and job runs.

Migrations 200-299 belong here (see `feedpipe.store.migrate`).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from feedpipe.store.migration import Migration, create_tables
from feedpipe.store.schema import UTCDateTime, metadata

# One row per lease name ("scheduler"): the holder owns the scheduled work until `expires_at`.
leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# One row per (job, slot): the first claimer of a slot runs it, everyone else sees the row and skips.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("slot", String(100), primary_key=True),  # e.g. "2026-W48" for the weekly digest
    Column("holder", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),  # running | ok | failed | skipped
    Column("detail", Text),
    Column("attempts", Integer, nullable=False, default=1),
)
Index("ix_job_runs_started", job_runs.c.started_at)

MIGRATIONS = [
    Migration(version=200, name="service: leases, job_runs", apply=create_tables(leases, job_runs)),
]
