"""The service side of the store: a lease on the scheduled work, and a record of job runs.

A lease is a row (name, holder, expires_at). Taking it is a compare-and-set inside one write
transaction (BEGIN IMMEDIATE on SQLite, a conditional UPDATE elsewhere): it succeeds when nobody
holds the lease, when the caller already holds it, or when the holder let it expire (a crashed
process). A holder renews well before `ttl` runs out; a process that cannot renew stops doing the
scheduled work.

A job run is a row per (job, slot) such as ("digest", "2026-W48"): the first process to insert it
runs that slot, every other claimer is told no. The slot key, not the scheduler's idea of when a
job fired, is what makes "exactly one run per slot" hold across DST changes, restarts and a
second scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from feedpipe.store.service_schema import job_runs, leases

L = leases
J = job_runs


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


class ServiceMixin:
    # -- leases -------------------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take (or keep) the lease `name` for `holder` until `now + ttl`.

        True when `holder` now holds it: nobody held it, `holder` already did, or the previous
        holder's lease had expired (it is taken over). False while another holder's lease runs.
        """
        expires = now + ttl
        with self.write() as conn:
            row = conn.execute(select(L).where(L.c.name == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            L.insert().values(
                                name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires
                            )
                        )
                except IntegrityError:  # another database client inserted it first (PostgreSQL)
                    return False
                return True
            taken_over = row.holder != holder
            result = conn.execute(
                L.update()
                .where(and_(L.c.name == name, or_(L.c.holder == holder, L.c.expires_at <= now)))
                .values(
                    holder=holder,
                    acquired_at=now if taken_over else row.acquired_at,
                    renewed_at=now,
                    expires_at=expires,
                )
            )
            return result.rowcount == 1

    def renew_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Extend `holder`'s lease to `now + ttl`. False when `holder` no longer holds it
        (it expired and someone else took it): stop doing the scheduled work then."""
        with self.write() as conn:
            result = conn.execute(
                L.update()
                .where(and_(L.c.name == name, L.c.holder == holder))
                .values(renewed_at=now, expires_at=now + ttl)
            )
            return result.rowcount == 1

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up (on a clean exit) so the next process need not wait for it to expire."""
        with self.write() as conn:
            result = conn.execute(L.delete().where(and_(L.c.name == name, L.c.holder == holder)))
            return result.rowcount == 1

    def get_lease(self, name: str) -> Lease | None:
        with self.read() as conn:
            row = conn.execute(select(L).where(L.c.name == name)).first()
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
        has been `running` for longer than `stale_after` (its process died); every other claim is
        False, so a slot that ran (`ok`) or was `skipped` never runs twice.
        """
        with self.write() as conn:
            row = conn.execute(select(J).where(and_(J.c.job == job, J.c.slot == slot))).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            J.insert().values(
                                job=job, slot=slot, holder=holder, started_at=now, status="running", attempts=1
                            )
                        )
                except IntegrityError:
                    return False
                return True
            stale = (
                row.status == "running" and stale_after is not None and row.started_at + stale_after <= now
            )
            if row.status != "failed" and not stale:
                return False
            result = conn.execute(
                J.update()
                .where(and_(J.c.job == job, J.c.slot == slot, J.c.status == row.status))
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
        with self.write() as conn:
            conn.execute(
                J.update()
                .where(and_(J.c.job == job, J.c.slot == slot, J.c.holder == holder))
                .values(finished_at=now, status=status, detail=detail)
            )

    def get_job_run(self, job: str, slot: str) -> JobRun | None:
        with self.read() as conn:
            row = conn.execute(select(J).where(and_(J.c.job == job, J.c.slot == slot))).first()
        return JobRun(**row._mapping) if row else None

    def job_runs(self, job: str | None = None, *, limit: int = 50) -> list[JobRun]:
        """The most recent runs first."""
        query = select(J).order_by(J.c.started_at.desc()).limit(limit)
        if job is not None:
            query = query.where(J.c.job == job)
        with self.read() as conn:
            return [JobRun(**r._mapping) for r in conn.execute(query)]
