"""The scale-out side of the store: live workers, the task queue, batches of an edition's send
ledger, the shared send rate, and the leader's advisory lock. PostgreSQL does the coordination:
`SELECT ... FOR UPDATE SKIP LOCKED` hands each row to one claimer, a transaction-scoped advisory
lock serialises task claims (so the "one request in flight per host" check sees every claim), and a
session-scoped advisory lock, held on the leader's own connection, makes one leader (it is released
by the server the moment that connection dies). On SQLite the same methods work in one process
(every write transaction holds the database lock), which the tests of the queue itself use.

A claim is (holder, expiry). Claims are renewed by their worker; a claim whose holder is a dead
process of this host (`leases.holder_is_dead`) or whose expiry has passed returns to the pool. A
ledger row a dead worker left "sending" becomes "uncertain" (its body may have gone out), never resent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, or_, select, text

from feedpipe.core.errors import StoreError
from feedpipe.store.digest_schema import editions, send_ledger
from feedpipe.store.engine import Database
from feedpipe.store.leases import holder_is_dead
from feedpipe.store.work_schema import rate_buckets, tasks, workers

CLAIM_LOCK = 0x66656564  # pg_advisory_xact_lock key serialising task claims ("feed")
LEADER_LOCK = 0x6C656164  # pg_try_advisory_lock key of the one leader ("lead")
# The holder of an edition that workers send (editions.holder): never a process, so never "dead";
# the leader renews its lease while rows remain and finishes it when none do.
QUEUE_HOLDER = "queue:0:workers"


@dataclass(frozen=True, kw_only=True)
class Task:
    id: int
    kind: str  # ingest | feeds
    key: str
    host: str | None
    enqueued_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    done_at: datetime | None
    attempts: int
    outcome: str | None


@dataclass(frozen=True, kw_only=True)
class WorkerInfo:
    holder: str
    host: str
    pid: int
    role: str
    started_at: datetime
    heartbeat_at: datetime
    doing: str | None
    doing_since: datetime | None


def _split_holder(holder: str) -> tuple[str, int]:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return host, int(pid) if pid.isdigit() else 0


class WorkQueue:
    """Workers, tasks, ledger batches and the send rate. Each method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- workers ------------------------------------------------------------------------------------

    def heartbeat(self, holder: str, *, role: str, now: datetime, doing: str | None = None) -> None:
        """Say this process is alive (and what it holds); the first call registers it."""
        host, pid = _split_holder(holder)
        with self._db.write() as conn:
            row = conn.execute(select(workers.c.doing, workers.c.doing_since)
                               .where(workers.c.holder == holder)).first()
            if row is None:
                conn.execute(workers.insert().values(holder=holder, host=host, pid=pid, role=role, started_at=now,
                                                     heartbeat_at=now, doing=doing, doing_since=now if doing else None))
                return
            since = row.doing_since if doing is not None and doing == row.doing else (now if doing else None)
            conn.execute(workers.update().where(workers.c.holder == holder)
                         .values(role=role, heartbeat_at=now, doing=doing, doing_since=since))

    def unregister(self, holder: str) -> None:
        with self._db.write() as conn:
            conn.execute(workers.delete().where(workers.c.holder == holder))

    def workers(self, *, now: datetime, live_within: timedelta) -> list[WorkerInfo]:
        """The processes whose heartbeat is recent, each with what it holds (its claimed task, else its
        batches of a send, else what it said); older rows (crashed processes) are removed."""
        with self._db.write() as conn:
            conn.execute(workers.delete().where(workers.c.heartbeat_at < now - live_within * 10))
            rows = conn.execute(select(workers).where(workers.c.heartbeat_at >= now - live_within)
                                .order_by(workers.c.role, workers.c.host, workers.c.pid)).all()
            held = {r.claimed_by: (f"{r.kind} {r.key}", r.claimed_at) for r in conn.execute(
                select(tasks.c.claimed_by, tasks.c.kind, tasks.c.key, tasks.c.claimed_at)
                .where(tasks.c.done_at.is_(None), tasks.c.claimed_by.is_not(None)))}
            for holder, edition, n in conn.execute(
                    select(send_ledger.c.claimed_by, send_ledger.c.edition, func.count())
                    .where(send_ledger.c.claimed_by.is_not(None), send_ledger.c.state.in_(("pending", "sending")))
                    .group_by(send_ledger.c.claimed_by, send_ledger.c.edition)):
                held.setdefault(holder, (f"send {edition} ({n} rows)", None))
        out = []
        for r in rows:
            doing, since = held.get(r.holder, (r.doing, r.doing_since))
            out.append(WorkerInfo(**{**r._mapping, "doing": doing, "doing_since": since}))
        return out

    # -- tasks --------------------------------------------------------------------------------------

    def enqueue(self, kind: str, key: str, *, now: datetime, host: str | None = None) -> bool:
        """Add a task unless one of the same kind and key is still open; True when added."""
        with self._db.write() as conn:
            open_one = conn.execute(select(tasks.c.id).where(tasks.c.kind == kind, tasks.c.key == key,
                                                             tasks.c.done_at.is_(None))).first()
            if open_one is not None:
                return False
            conn.execute(tasks.insert().values(kind=kind, key=key, host=host, enqueued_at=now, attempts=0))
            return True

    def claim_task(self, holder: str, *, now: datetime, ttl: timedelta, kinds: Iterable[str]) -> Task | None:
        """The oldest open task of `kinds` that nobody holds (or whose holder's claim lapsed, or whose
        holder is a dead process of this host), and whose host has no request in flight by another
        holder; claimed for `holder` until now + ttl. Two small queries and one update: the claimed
        tasks (one per worker at most) say which holders are gone and which hosts are busy, and the
        database picks the first free row (SKIP LOCKED)."""
        with self._db.write() as conn:
            self._serialise(conn)
            claimed = conn.execute(select(tasks.c.host, tasks.c.claimed_by, tasks.c.claim_expires_at).where(
                tasks.c.done_at.is_(None), tasks.c.claimed_by.is_not(None))).all()
            dead = {r.claimed_by for r in claimed if r.claimed_by != holder and holder_is_dead(r.claimed_by)}
            busy = {r.host for r in claimed if r.host is not None and r.claimed_by != holder
                    and r.claim_expires_at > now and r.claimed_by not in dead}
            free = or_(tasks.c.claimed_by.is_(None), tasks.c.claim_expires_at <= now,
                       tasks.c.claimed_by.in_(sorted(dead) or [""]))
            query = select(tasks.c.id, tasks.c.attempts).where(tasks.c.done_at.is_(None), tasks.c.kind.in_(list(kinds)),
                                                                free)
            if busy:
                query = query.where(or_(tasks.c.host.is_(None), tasks.c.host.not_in(sorted(busy))))
            row = conn.execute(query.order_by(tasks.c.id).limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            conn.execute(tasks.update().where(tasks.c.id == row.id).values(
                claimed_by=holder, claimed_at=now, claim_expires_at=now + ttl, attempts=row.attempts + 1))
            done = conn.execute(select(tasks).where(tasks.c.id == row.id)).one()
            return Task(**done._mapping)

    def enqueue_many(self, kind: str, items: Iterable[tuple[str, str | None]], *, now: datetime) -> list[str]:
        """`enqueue` for many (key, host) pairs in one transaction (a leader's tick over thousands of
        sources); returns the keys added."""
        wanted = dict(items)
        if not wanted:
            return []
        with self._db.write() as conn:
            keys = list(wanted)
            open_keys: set[str] = set()
            for start in range(0, len(keys), 500):
                open_keys.update(conn.execute(select(tasks.c.key).where(
                    tasks.c.kind == kind, tasks.c.done_at.is_(None), tasks.c.key.in_(keys[start:start + 500]))).scalars())
            added = [k for k in keys if k not in open_keys]
            if added:
                conn.execute(tasks.insert(), [{"kind": kind, "key": k, "host": wanted[k], "enqueued_at": now,
                                               "attempts": 0} for k in added])
            return added

    def finish_task(self, task_id: int, holder: str, *, now: datetime, outcome: str) -> bool:
        """Close a task this holder still holds; False when its claim was taken over meanwhile."""
        with self._db.write() as conn:
            done = conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.claimed_by == holder,
                                                     tasks.c.done_at.is_(None))
                                .values(done_at=now, outcome=outcome[:1000]))
            return done.rowcount == 1

    def renew(self, holder: str, *, now: datetime, ttl: timedelta) -> None:
        """Extend every claim of `holder` (its tasks and its ledger rows) to now + ttl."""
        with self._db.write() as conn:
            conn.execute(tasks.update().where(tasks.c.claimed_by == holder, tasks.c.done_at.is_(None))
                         .values(claim_expires_at=now + ttl))
            conn.execute(send_ledger.update().where(send_ledger.c.claimed_by == holder,
                                                    send_ledger.c.state.in_(("pending", "sending")))
                         .values(claim_expires_at=now + ttl))

    def release(self, holder: str) -> int:
        """Give back every claim of `holder` at once (a clean shutdown): open tasks and pending rows."""
        with self._db.write() as conn:
            n = conn.execute(tasks.update().where(tasks.c.claimed_by == holder, tasks.c.done_at.is_(None))
                             .values(claimed_by=None, claim_expires_at=None)).rowcount
            n += conn.execute(send_ledger.update().where(send_ledger.c.claimed_by == holder,
                                                         send_ledger.c.state == "pending")
                              .values(claimed_by=None, claim_expires_at=None)).rowcount
            return int(n)

    def open_tasks(self) -> list[Task]:
        with self._db.read() as conn:
            rows = conn.execute(select(tasks).where(tasks.c.done_at.is_(None)).order_by(tasks.c.id)).all()
        return [Task(**r._mapping) for r in rows]

    def prune_tasks(self, *, before: datetime) -> int:
        """Forget tasks done before `before` (the leader keeps the table small)."""
        with self._db.write() as conn:
            return int(conn.execute(tasks.delete().where(tasks.c.done_at < before)).rowcount)

    # -- an edition's send, in batches ----------------------------------------------------------------

    def claim_ledger_batch(self, edition: str, holder: str, *, now: datetime, ttl: timedelta,
                           limit: int) -> tuple[list[str], int]:
        """Claim up to `limit` pending rows of `edition` for `holder`: (their addresses, in address order;
        how many rows a dead or lapsed worker had left "sending" and are now "uncertain")."""
        with self._db.write() as conn:
            lapsed = self._lapsed_holders(conn, edition, holder, now)
            recovered = 0
            if lapsed:
                lost = or_(send_ledger.c.claim_expires_at <= now, send_ledger.c.claimed_by.in_(lapsed))
                recovered = conn.execute(send_ledger.update().where(
                    send_ledger.c.edition == edition, send_ledger.c.state == "sending",
                    send_ledger.c.claimed_by.is_not(None), lost)
                    .values(state="uncertain", updated_at=now, claimed_by=None, claim_expires_at=None,
                            last_error="the worker stopped while this message was in flight")).rowcount
            free = or_(send_ledger.c.claimed_by.is_(None), send_ledger.c.claim_expires_at <= now,
                       send_ledger.c.claimed_by.in_(lapsed or [""]))
            emails = list(conn.execute(
                select(send_ledger.c.email)
                .where(send_ledger.c.edition == edition, send_ledger.c.state == "pending", free)
                .order_by(send_ledger.c.email).limit(limit).with_for_update(skip_locked=True)).scalars())
            if emails:
                conn.execute(send_ledger.update().where(send_ledger.c.edition == edition,
                                                        send_ledger.c.email.in_(emails))
                             .values(claimed_by=holder, claim_expires_at=now + ttl))
            return emails, int(recovered)

    def _lapsed_holders(self, conn: Connection, edition: str, holder: str, now: datetime) -> list[str]:
        held = conn.execute(select(send_ledger.c.claimed_by, func.min(send_ledger.c.claim_expires_at))
                            .where(send_ledger.c.edition == edition, send_ledger.c.claimed_by.is_not(None),
                                   send_ledger.c.claimed_by != holder,
                                   send_ledger.c.state.in_(("pending", "sending")))
                            .group_by(send_ledger.c.claimed_by)).all()
        return [h for h, until in held if until is None or until <= now or holder_is_dead(h)]

    def queued_editions(self) -> list[str]:
        """Editions being sent by the workers (opened by the leader, not finished yet)."""
        with self._db.read() as conn:
            return list(conn.execute(select(editions.c.key).where(
                editions.c.status == "sending", editions.c.holder == QUEUE_HOLDER).order_by(editions.c.key)).scalars())

    def ledger_claims(self, edition: str) -> dict[str, int]:
        """Who holds rows of `edition` now: holder -> rows still pending or sending in its batch."""
        with self._db.read() as conn:
            rows = conn.execute(select(send_ledger.c.claimed_by, func.count()).where(
                send_ledger.c.edition == edition, send_ledger.c.claimed_by.is_not(None),
                send_ledger.c.state.in_(("pending", "sending"))).group_by(send_ledger.c.claimed_by)).all()
        return {h: int(n) for h, n in rows}

    def unclaimed_work(self, edition: str) -> int:
        """Rows of `edition` still pending or sending (0: the edition is done)."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(send_ledger).where(
                send_ledger.c.edition == edition, send_ledger.c.state.in_(("pending", "sending")))).scalar_one())

    # -- the shared send rate ---------------------------------------------------------------------------

    def take_tokens(self, name: str, want: int, *, rate: float, burst: float, now: datetime) -> tuple[int, float]:
        """Take up to `want` tokens from the bucket `name` (refilled at `rate` per second, at most
        `burst`): (tokens granted, seconds to wait before asking again when none were)."""
        with self._db.write() as conn:
            row = conn.execute(select(rate_buckets).where(rate_buckets.c.name == name).with_for_update()).first()
            if row is None:
                tokens = burst
                conn.execute(rate_buckets.insert().values(name=name, tokens=burst, updated_at=now))
            else:
                elapsed = max(0.0, (now - row.updated_at).total_seconds())
                tokens = min(burst, row.tokens + elapsed * rate)
            granted = min(want, int(tokens))
            conn.execute(rate_buckets.update().where(rate_buckets.c.name == name)
                         .values(tokens=tokens - granted, updated_at=now))
        return granted, 0.0 if granted else (1 - (tokens - granted)) / rate

    def _serialise(self, conn: Connection) -> None:
        if not self._db.is_sqlite:  # SQLite's write transaction already excludes every other writer
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})


class LeaderLock:
    """The one leader: a PostgreSQL advisory lock held on a connection of its own. The server drops it
    the moment that connection dies (a killed leader, a lost network), so a follower's next
    `try_lead` succeeds within its polling interval."""

    def __init__(self, db: Database) -> None:
        if db.is_sqlite:
            raise StoreError("a leader and workers need a PostgreSQL store",
                             "set [store] url = \"postgresql+psycopg://...\", or run `feedpipe serve` alone on SQLite")
        self._db = db
        self._conn: Connection | None = None

    def try_lead(self) -> bool:
        """Take the lock if nobody holds it; True while this process leads."""
        if self._conn is not None:
            return self.still_leading()
        conn = self._db.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}).scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def still_leading(self) -> bool:
        """True while the lock's connection answers (the lock lives as long as it does)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})
                self._conn.commit()
            except Exception:  # the connection is gone: so is the lock
                pass
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:  # invalidated, not pooled: a live lock must never go back to the pool
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                pass
            self._conn = None


__all__ = ["LEADER_LOCK", "QUEUE_HOLDER", "LeaderLock", "Task", "WorkQueue", "WorkerInfo"]
