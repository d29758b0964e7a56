"""Scale-out on PostgreSQL: one leader enqueues what is due (`leader`), any number of workers on any
number of machines take it (`worker`). The coordination is the database's: row locks with SKIP
LOCKED, claims with an expiry, and an advisory lock for the leader (`feedpipe.store.work`)."""

from feedpipe.workers.leader import Leader, TickReport, source_host, tick
from feedpipe.workers.worker import Worker, WorkerTally

__all__ = ["Leader", "TickReport", "Worker", "WorkerTally", "source_host", "tick"]
