"""Leases on the scheduled work, and a record of job runs (the scheduler's side of the store).

A lease is a row (name, holder, expires_at). Taking it is a compare-and-set inside one write
transaction (BEGIN IMMEDIATE on SQLite, a conditional UPDATE elsewhere): it succeeds when nobody
holds the lease, when the caller already holds it, when the holder let it expire (a crashed
process), or at once when the holder is a process of this host that no longer exists (`holder_is_dead`:
holder names are host:pid:random, see `make_holder`; a holder on another host is waited out). A holder renews well before `ttl` runs out; a process that cannot renew stops doing the
scheduled work.

A job run is a row per (job, slot) such as ("digest", "2026-W48"): the first process to insert it
runs that slot, every other claimer is told no. The slot key, not the scheduler's idea of when a
job fired, is what makes "exactly one run per slot" hold across DST changes, restarts and a
second scheduler.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from feedpipe.store.engine import Database
from feedpipe.store.service_schema import job_runs, leases


def make_holder(role: str = "") -> str:
    """A name for this process in a lease (the scheduler's, an edition's send): host, pid and a random
    part, which starts with the command when one is given ("host:4242:run-1a2b3c4d"), so a refused
    process is told who holds the lease (`describe_holder`)."""
    tag = uuid.uuid4().hex[:8]
    return f"{socket.gethostname()}:{os.getpid()}:{f'{role}-{tag}' if role else tag}"


def describe_holder(holder: str, since: datetime | None = None) -> str:
    """A lease holder for people: "`feedpipe serve` (pid 4242 on host web-1, since 2026-11-27 08:00 UTC)";
    a holder of another form is named as it is."""
    parts = holder.rsplit(":", 2)
    when = f", since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if since is not None else ""
    if len(parts) != 3 or not parts[1].isdigit():
        return f"{holder}{' (' + when[2:] + ')' if when else ''}"
    host, pid, tag = parts
    role, _, _ = tag.rpartition("-")
    what = f"`feedpipe {role}`" if role else "another feedpipe process"
    return f"{what} (pid {pid} on host {host}{when})"


def holder_is_dead(holder: str | None) -> bool:
    """True only when `holder` (host:pid:random, from `make_holder`) names a process on this host that
    no longer runs (gone, or a zombie nobody reaped). Anything else — another host, a name of another
    form, a pid that exists or cannot be checked — is False: wait for the lease to expire."""
    parts = (holder or "").rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, as another user
        return False
    try:  # killed but not reaped yet: it holds nothing any more
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


@dataclass(frozen=True, kw_only=True)
class Lease:
    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def active(self, now: datetime) -> bool:
        return self.expires_at > now


@dataclass(frozen=True, kw_only=True)
class JobRun:
    job: str
    slot: str
    holder: str
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | ok | failed | skipped
    detail: str | None
    attempts: int


class LeaseRepository:
    """Leases on the scheduled work, and job runs. Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- leases -------------------------------------------------------------------------------------

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take (or keep) the lease `name` for `holder` until `now + ttl`.

        True when `holder` now holds it: nobody held it, `holder` already did, the previous
        holder's lease had expired, or the previous holder is a dead process of this host (it is
        taken over). False while another, live (or remote) holder's lease runs.
        """
        expires = now + ttl
        with self._db.write() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            leases.insert().values(
                                name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires
                            )
                        )
                except IntegrityError:  # another database client inserted it first (PostgreSQL)
                    return False
                return True
            taken_over = row.holder != holder
            may = or_(leases.c.holder == holder, leases.c.expires_at <= now)
            if taken_over and row.expires_at > now and holder_is_dead(row.holder):
                may = or_(may, leases.c.holder == row.holder)  # compare-and-set on the dead holder
            result = conn.execute(
                leases.update()
                .where(and_(leases.c.name == name, may))
                .values(
                    holder=holder,
                    acquired_at=now if taken_over else row.acquired_at,
                    renewed_at=now,
                    expires_at=expires,
                )
            )
            return result.rowcount == 1

    def renew(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Extend `holder`'s lease to `now + ttl`. False when `holder` no longer holds it
        (it expired and someone else took it): stop doing the scheduled work then."""
        with self._db.write() as conn:
            result = conn.execute(
                leases.update()
                .where(and_(leases.c.name == name, leases.c.holder == holder))
                .values(renewed_at=now, expires_at=now + ttl)
            )
            return result.rowcount == 1

    def release(self, name: str, holder: str) -> bool:
        """Give the lease up (on a clean exit) so the next process need not wait for it to expire."""
        with self._db.write() as conn:
            result = conn.execute(leases.delete().where(and_(leases.c.name == name, leases.c.holder == holder)))
            return result.rowcount == 1

    def get(self, name: str) -> Lease | None:
        with self._db.read() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).first()
        return Lease(**row._mapping) if row else None

    # -- job runs -----------------------------------------------------------------------------------

    def claim_job_run(
        self,
        job: str,
        slot: str,
        *,
        holder: str,
        now: datetime,
        stale_after: timedelta | None = None,
    ) -> bool:
        """Claim slot `slot` of `job` (e.g. "digest", "2026-W48") for `holder`; True means: run it.

        The first claim wins. A later claim wins again only when the slot's run `failed`, or when it
        has been `running` for longer than `stale_after` or its holder is a dead process of this host
        (see `holder_is_dead`); every other claim is False, so a slot that ran (`ok`) or was `skipped`
        never runs twice.
        """
        with self._db.write() as conn:
            row = conn.execute(select(job_runs).where(and_(job_runs.c.job == job, job_runs.c.slot == slot))).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            job_runs.insert().values(
                                job=job, slot=slot, holder=holder, started_at=now, status="running", attempts=1
                            )
                        )
                except IntegrityError:
                    return False
                return True
            stale = row.status == "running" and (
                (stale_after is not None and row.started_at + stale_after <= now) or holder_is_dead(row.holder)
            )
            if row.status != "failed" and not stale:
                return False
            result = conn.execute(
                job_runs.update()
                .where(and_(job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.status == row.status,
                            job_runs.c.holder == row.holder))
                .values(
                    holder=holder,
                    started_at=now,
                    finished_at=None,
                    status="running",
                    detail=None,
                    attempts=row.attempts + 1,
                )
            )
            return result.rowcount == 1

    def finish_job_run(
        self, job: str, slot: str, *, holder: str, now: datetime, status: str = "ok", detail: str | None = None
    ) -> None:
        """Record how `holder`'s run of (job, slot) ended: ok, failed (may be claimed again) or skipped."""
        if status not in ("ok", "failed", "skipped"):
            raise ValueError(f"job run status {status!r}: expected ok, failed or skipped")
        with self._db.write() as conn:
            conn.execute(
                job_runs.update()
                .where(and_(job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.holder == holder))
                .values(finished_at=now, status=status, detail=detail)
            )

    def job_run(self, job: str, slot: str) -> JobRun | None:
        with self._db.read() as conn:
            row = conn.execute(select(job_runs).where(and_(job_runs.c.job == job, job_runs.c.slot == slot))).first()
        return JobRun(**row._mapping) if row else None

    def job_runs(self, job: str | None = None, *, limit: int = 50) -> list[JobRun]:
        """The most recent runs first."""
        query = select(job_runs).order_by(job_runs.c.started_at.desc()).limit(limit)
        if job is not None:
            query = query.where(job_runs.c.job == job)
        with self._db.read() as conn:
            return [JobRun(**r._mapping) for r in conn.execute(query)]
