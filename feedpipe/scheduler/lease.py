"""The store lease on the scheduled work: one process per store runs it (`serve`, or a cron `run`).

The lease is a row in the store (`Store.acquire_lease`, `renew_lease`, `release_lease`): the holder
renews it well before its `[schedule] lease_ttl_seconds` run out; a process that cannot renew has lost
it to another and stops; a crashed holder's lease is taken over at once on the same host (its pid is
gone) and after it expires from another host.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from feedpipe.app import App
from feedpipe.core.errors import FeedpipeError
from feedpipe.store import Store
from feedpipe.store.leases import describe_holder, make_holder

__all__ = ["LEASE_NAME", "LeaseBusy", "SchedulerLease", "busy_error", "hold_lease", "make_holder"]

LEASE_NAME = "scheduler"


class LeaseBusy(FeedpipeError):
    """Another process holds the scheduled work of this store."""

    exit_code = 4  # operational: the CLI prints the message and the hint


def busy_error(store: Store, now: datetime) -> LeaseBusy:
    """The error for a refused lease, naming the holder and until when it holds it."""
    lease = store.leases.get(LEASE_NAME)
    who = describe_holder(lease.holder, lease.acquired_at) if lease else "another process"
    until = f"; its lease runs until {lease.expires_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if lease else ""
    other = "a `feedpipe run` finishes on its own; wait for it" if lease and ":run-" in lease.holder else \
        "stop the other process first"
    return LeaseBusy(
        f"the scheduled work of this store is already being run by {who}{until}",
        f"{other} (a dead process on this host is taken over at once; one on another host when its lease "
        "expires); `feedpipe web` serves the web side without the scheduled work",
    )


class SchedulerLease:
    """This process's hold on the scheduled work of `store`, as `holder`, for `ttl` at a time."""

    def __init__(self, store: Store, holder: str, ttl: timedelta) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl

    def acquire(self, now: datetime) -> None:
        """Take the lease, or raise LeaseBusy naming the process that holds it."""
        if not self.store.leases.acquire(LEASE_NAME, self.holder, now=now, ttl=self.ttl):
            raise busy_error(self.store, now)

    def renew(self, now: datetime) -> bool:
        """Extend the lease; False when another process has taken it (stop the scheduled work)."""
        return self.store.leases.renew(LEASE_NAME, self.holder, now=now, ttl=self.ttl)

    def release(self) -> None:
        self.store.leases.release(LEASE_NAME, self.holder)


@contextmanager
def hold_lease(app: App, *, holder: str | None = None, now: datetime | None = None) -> Iterator[str]:
    """Hold the scheduler lease for a block (e.g. `feedpipe run` from cron); raise LeaseBusy when
    another process holds it. Released on exit."""
    lease = SchedulerLease(app.store, holder or make_holder(), app.settings.schedule.lease_ttl)
    lease.acquire(now or app.clock())
    try:
        yield lease.holder
    finally:
        lease.release()
