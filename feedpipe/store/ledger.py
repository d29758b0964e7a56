"""The exactly-once send ledger: one row per (edition, address), moved between the `LEDGER_STATES`
(pending → sending → sent | failed | uncertain) by compare-and-set updates in a write transaction:
a row moves only from the state the caller expects, and only the caller that moved it may act on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect, Row, Text, bindparam, exists, func, literal, select

from feedpipe.core.address import identity_key
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import LEDGER_STATES, LedgerEntry, Subscriber
from feedpipe.store.digest_schema import send_ledger, subscribers
from feedpipe.store.engine import Database
from feedpipe.store.subscribers import normalize_email

Finished = tuple[str, str, str | None, str | None]  # (email, state, error, message_id) of a message sent


class LedgerStep(Protocol):
    """One step of a sender's session, its own write transaction: record the outcomes of messages whose
    answer came (`finished`, each from "sending") and/or claim an address (`claim`, pending → sending,
    counting an attempt). The sender claims a row at the start of its message's SMTP transaction (just
    before the body) and records the outcome as soon as the answer is read, so "sending" means "this
    message may have reached the server". Returns whether the claim succeeded."""

    def __call__(
        self, *, finished: Iterable[Finished] = (), claim: str | None = None, now: datetime
    ) -> bool: ...


def entry_from_row(row: Row[*tuple[Any, ...]]) -> LedgerEntry:
    return LedgerEntry(**row._mapping)


# The sender's two statements, built once (a send runs them once per subscriber).
_FINISH = (
    send_ledger.update()
    .where(
        send_ledger.c.edition == bindparam("b_edition"),
        send_ledger.c.email == bindparam("b_email"),
        send_ledger.c.state == "sending",
    )
    .values(
        state=bindparam("b_state"),
        updated_at=bindparam("b_now"),
        last_error=func.coalesce(bindparam("b_error", type_=Text), send_ledger.c.last_error),
        message_id=func.coalesce(bindparam("b_mid", type_=Text), send_ledger.c.message_id),
    )
)
_CLAIM = (
    send_ledger.update()
    .where(
        send_ledger.c.edition == bindparam("b_edition"),
        send_ledger.c.email == bindparam("b_email"),
        send_ledger.c.state == "pending",
    )
    .values(state="sending", attempts=send_ledger.c.attempts + 1, updated_at=bindparam("b_now"))
)


def _ledger_step(
    conn: Connection, edition: str, finished: Iterable[Finished], claim: str | None, now: datetime
) -> bool:
    for email, state, error, message_id in finished:
        conn.execute(
            _FINISH,
            {
                "b_edition": edition,
                "b_email": email,
                "b_state": state,
                "b_now": now,
                "b_error": error[:1000] if error is not None else None,
                "b_mid": message_id,
            },
        )
    if claim is None:
        return False
    done = conn.execute(_CLAIM, {"b_edition": edition, "b_email": claim, "b_now": now})
    return bool(done.rowcount == 1)


class _Prepared:
    """A Core statement compiled once for a dialect with positional parameters (SQLite's "?"): its SQL,
    the order of its parameters, the fixed values it carries and the type conversions (dates) of the rest."""

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        given = {name: None for name in self.names if name.startswith("b_")}
        self.fixed = {k: v for k, v in compiled.construct_params(given).items() if k not in given}
        self.convert = {name: proc for name in self.names
                        if (proc := compiled.binds[name].type.bind_processor(dialect)) is not None}

    def params(self, values: dict[str, Any]) -> tuple[Any, ...]:
        merged = self.fixed | values
        return tuple(self.convert[n](merged[n]) if n in self.convert else merged[n] for n in self.names)


class _SqliteSession:
    """`LedgerStep` on SQLite: each step one BEGIN IMMEDIATE ... COMMIT on the held driver connection
    (autocommit mode: engine.py switches pysqlite's own transaction handling off)."""

    def __init__(self, conn: Connection, edition: str) -> None:
        dialect = conn.dialect
        self.edition = edition
        self.raw = conn.connection.driver_connection
        self.finish, self.claim = _Prepared(_FINISH, dialect), _Prepared(_CLAIM, dialect)

    def __call__(self, *, finished: Iterable[Finished] = (), claim: str | None = None, now: datetime) -> bool:
        assert self.raw is not None
        cur = self.raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for email, state, error, message_id in finished:
                cur.execute(self.finish.sql, self.finish.params({
                    "b_edition": self.edition, "b_email": email, "b_state": state, "b_now": now,
                    "b_error": error[:1000] if error is not None else None, "b_mid": message_id}))
            moved = False
            if claim is not None:
                cur.execute(self.claim.sql, self.claim.params(
                    {"b_edition": self.edition, "b_email": claim, "b_now": now}))
                moved = cur.rowcount == 1
            cur.execute("COMMIT")
        except BaseException:
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
            raise
        finally:
            cur.close()
        return moved


class SendLedger:
    """The send ledger. Every method runs in its own transaction, except `session`'s steps."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(self, edition: str, *, now: datetime) -> int:
        """Add a pending row for every active subscriber who has none for this edition (set-based,
        so it is one statement whatever the list size). Returns how many were added."""
        source = select(
            literal(edition),
            subscribers.c.email,
            literal("pending"),
            literal(0),
            literal(now, type_=send_ledger.c.updated_at.type),
        ).where(
            subscribers.c.status == "active",
            ~exists().where(send_ledger.c.edition == edition, send_ledger.c.email == subscribers.c.email),
        )
        count = select(func.count()).select_from(send_ledger).where(send_ledger.c.edition == edition)
        with self._db.write() as conn:
            before = int(conn.execute(count).scalar_one())
            conn.execute(
                send_ledger.insert().from_select(
                    ["edition", "email", "state", "attempts", "updated_at"], source
                )
            )
            return int(conn.execute(count).scalar_one()) - before

    def pending(self, edition: str, *, after: str = "", limit: int = 500) -> list[str]:
        """Addresses still pending for the edition, in address order after `after` (keyset paging)."""
        with self._db.read() as conn:
            return list(
                conn.execute(
                    select(send_ledger.c.email)
                    .where(
                        send_ledger.c.edition == edition,
                        send_ledger.c.state == "pending",
                        send_ledger.c.email > after,
                    )
                    .order_by(send_ledger.c.email)
                    .limit(limit)
                ).scalars()
            )

    def transition(
        self,
        edition: str,
        email: str,
        *,
        expect: str,
        to: str,
        now: datetime,
        error: str | None = None,
        message_id: str | None = None,
        count_attempt: bool = False,
    ) -> bool:
        """Compare-and-set one ledger row from `expect` to `to`; True if this call moved it."""
        if to not in LEDGER_STATES or expect not in LEDGER_STATES:
            raise ValueError(f"ledger states are {LEDGER_STATES}")
        values: dict[str, Any] = {"state": to, "updated_at": now}
        if error is not None:
            values["last_error"] = error[:1000]
        if message_id is not None:
            values["message_id"] = message_id
        if count_attempt:
            values["attempts"] = send_ledger.c.attempts + 1
        with self._db.write() as conn:
            done = conn.execute(
                send_ledger.update()
                .where(
                    send_ledger.c.edition == edition,
                    send_ledger.c.email == email,
                    send_ledger.c.state == expect,
                )
                .values(**values)
            )
            return done.rowcount == 1

    def pending_subscribers(self, edition: str, *, after: str = "", limit: int = 500,
                            claimed_by: str | None = None) -> list[Subscriber]:
        """The subscribers whose rows are pending, in address order after `after`, with their current
        status (a row whose subscriber has gone comes back with status "removed"); with `claimed_by`,
        only the rows of that worker's batch (`WorkQueue.claim_ledger_batch`)."""
        query = (
            select(send_ledger.c.email, subscribers)
            .select_from(send_ledger.outerjoin(subscribers, subscribers.c.email == send_ledger.c.email))
            .where(
                send_ledger.c.edition == edition,
                send_ledger.c.state == "pending",
                send_ledger.c.email > after,
            )
            .order_by(send_ledger.c.email)
            .limit(limit)
        )
        if claimed_by is not None:
            query = query.where(send_ledger.c.claimed_by == claimed_by)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            if row._mapping[subscribers.c.email] is None:
                out.append(Subscriber(email=row._mapping[send_ledger.c.email], status="removed"))
            else:
                m = row._mapping
                out.append(
                    Subscriber(
                        email=m[subscribers.c.email],
                        name=m[subscribers.c.name],
                        status=m[subscribers.c.status],
                        countries=tuple(m[subscribers.c.countries] or ()),
                        topics=tuple(m[subscribers.c.topics] or ()),
                        token=m[subscribers.c.token],
                        created_at=m[subscribers.c.created_at],
                        confirmed_at=m[subscribers.c.confirmed_at],
                        updated_at=m[subscribers.c.updated_at],
                    )
                )
        return out

    @contextlib.contextmanager
    def session(self, edition: str) -> Iterator[LedgerStep]:
        """A sender's steps for a long send: yields step(finished=..., claim=..., now=...), each call its own
        write transaction, all on one connection held for the session (no pool round trip per message).

        On SQLite the two statements (compiled once by SQLAlchemy for the dialect) run on the driver's
        connection, in BEGIN IMMEDIATE ... COMMIT as every write does: a send commits twice per message,
        and SQLAlchemy's per-execution machinery cost about twice SQLite's own work."""
        if self._db.is_sqlite:
            with self._db.engine.connect() as conn:
                yield _SqliteSession(conn, edition)
            return
        with self._db.write() as first:  # the same kind of connection write() gives, kept open below
            engine_options = first.get_execution_options()
        with self._db.engine.connect() as conn:
            conn = conn.execution_options(**engine_options)

            def step(*, finished: Iterable[Finished] = (), claim: str | None = None, now: datetime) -> bool:
                with conn.begin():
                    return _ledger_step(conn, edition, finished, claim, now)

            yield step

    def claim(self, edition: str, email: str, *, now: datetime) -> bool:
        """pending → sending (counting an attempt): only the caller that gets True may send."""
        return self.transition(edition, email, expect="pending", to="sending", now=now, count_attempt=True)

    def recover(self, edition: str, *, now: datetime) -> int:
        """Rows left "sending" by a sender that died (at most one per sender: the message whose body
        was going out and whose answer was not recorded): it may or may not have arrived, so it becomes
        "uncertain" (never blindly resent). Call only while holding the edition's claim."""
        with self._db.write() as conn:
            return conn.execute(
                send_ledger.update()
                .where(send_ledger.c.edition == edition, send_ledger.c.state == "sending")
                .values(
                    state="uncertain",
                    updated_at=now,
                    last_error="the sender stopped while this message was in flight",
                )
            ).rowcount

    def entries(self, edition: str | None = None, state: str | None = None) -> list[LedgerEntry]:
        query = select(send_ledger).order_by(send_ledger.c.edition, send_ledger.c.email)
        if edition is not None:
            query = query.where(send_ledger.c.edition == edition)
        if state is not None:
            query = query.where(send_ledger.c.state == state)
        with self._db.read() as conn:
            return [entry_from_row(r) for r in conn.execute(query)]

    def entry(self, edition: str, email: str) -> LedgerEntry | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(send_ledger).where(send_ledger.c.edition == edition, send_ledger.c.email == email)
            ).first()
        return entry_from_row(row) if row else None

    def counts(self, edition: str) -> dict[str, int]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(send_ledger.c.state, func.count())
                .where(send_ledger.c.edition == edition)
                .group_by(send_ledger.c.state)
            ).all()
        counts = dict.fromkeys(LEDGER_STATES, 0)
        counts.update({state: n for state, n in rows})
        return counts

    def uncertain(self, edition: str | None = None) -> list[LedgerEntry]:
        """Messages whose fate is unknown (the connection dropped after DATA): for an operator to resolve."""
        return self.entries(edition, "uncertain")

    def resolve(self, edition: str, email: str, state: str, *, now: datetime) -> bool:
        """An operator's verdict on an uncertain message: "sent" (it arrived) or "failed". The address
        is matched as the subscriber's identity (`identity_key`), so `Anna@Example.ORG` finds anna@example.org."""
        if state not in ("sent", "failed"):
            raise FeedpipeError(
                f"cannot resolve to {state!r}", "resolve an uncertain message as sent or failed"
            )
        key = identity_key(normalize_email(email))
        found = next((e.email for e in self.uncertain(edition) if identity_key(e.email) == key), None)
        if found is None:
            return False
        return self.transition(
            edition,
            found,
            expect="uncertain",
            to=state,
            now=now,
            error=f"resolved as {state}",
        )
