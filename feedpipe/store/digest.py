"""The digest side of the store: subscribers, editions, editor's picks and the exactly-once send ledger.

Every method runs in its own transaction. State changes that decide who gets mail (claiming an
edition, moving a ledger row) are compare-and-set updates in a write transaction: the row moves only
from the state the caller expects, and the caller learns whether it did.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Text, and_, bindparam, exists, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import (
    LEDGER_STATES,
    SUBSCRIBER_STATUSES,
    Edition,
    LedgerEntry,
    Pick,
    Subscriber,
)
from feedpipe.store.digest_schema import editions as E
from feedpipe.store.digest_schema import picks as P
from feedpipe.store.digest_schema import send_ledger as L
from feedpipe.store.digest_schema import subscribers as S

_TOKEN_BUCKET = 8  # the token prefix used to find candidates before the constant-time compare


def normalize_email(email: str) -> str:
    """The address as stored: validated (syntax only, no DNS) and normalised; FeedpipeError if invalid."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise FeedpipeError(
            f"{email!r} is not a valid email address: {exc}",
            "give an address such as reader@example.org",
        ) from exc


def _norm_countries(codes: Iterable[str]) -> list[str]:
    return sorted({c.strip().upper() for c in codes if c and c.strip()})


def _norm_topics(codes: Iterable[str]) -> list[str]:
    return sorted({t.strip() for t in codes if t and t.strip()})


def _subscriber(row) -> Subscriber:
    m = row._mapping
    return Subscriber(
        email=m["email"], name=m["name"], status=m["status"],
        countries=tuple(m["countries"] or ()), topics=tuple(m["topics"] or ()), token=m["token"],
        created_at=m["created_at"], confirmed_at=m["confirmed_at"], updated_at=m["updated_at"],
    )


def _edition(row) -> Edition:
    return Edition(**row._mapping)


def _entry(row) -> LedgerEntry:
    return LedgerEntry(**row._mapping)


# The sender's two statements, built once (a send runs them once per subscriber).
_FINISH = (
    L.update()
    .where(L.c.edition == bindparam("b_edition"), L.c.email == bindparam("b_email"), L.c.state == "sending")
    .values(state=bindparam("b_state"), updated_at=bindparam("b_now"),
            last_error=func.coalesce(bindparam("b_error", type_=Text), L.c.last_error),
            message_id=func.coalesce(bindparam("b_mid", type_=Text), L.c.message_id))
)
_CLAIM = (
    L.update()
    .where(L.c.edition == bindparam("b_edition"), L.c.email == bindparam("b_email"), L.c.state == "pending")
    .values(state="sending", attempts=L.c.attempts + 1, updated_at=bindparam("b_now"))
)


def _ledger_step(conn, edition: str, finished, claim: str | None, now: datetime) -> bool:
    for email, state, error, message_id in finished:
        conn.execute(_FINISH, {"b_edition": edition, "b_email": email, "b_state": state, "b_now": now,
                               "b_error": error[:1000] if error is not None else None, "b_mid": message_id})
    if claim is None:
        return False
    done = conn.execute(_CLAIM, {"b_edition": edition, "b_email": claim, "b_now": now})
    return done.rowcount == 1


def _check_status(status: str) -> None:
    if status not in SUBSCRIBER_STATUSES:
        raise FeedpipeError(f"unknown subscriber status {status!r}", f"use one of {', '.join(SUBSCRIBER_STATUSES)}")


class DigestMixin:
    # ---- subscribers -------------------------------------------------------------------------

    def add_subscriber(
        self,
        email: str,
        *,
        name: str | None = None,
        status: str = "pending",
        countries: Iterable[str] = (),
        topics: Iterable[str] = (),
        now: datetime,
    ) -> Subscriber:
        """Add an address (validated and normalised) with a fresh secret token.

        An address already on the list is returned as it is, except that an unsubscribed one
        signing up again becomes pending (its preferences are then replaced by the new ones).
        """
        _check_status(status)
        address = normalize_email(email)
        try:
            return self._add_subscriber(address, name, status, countries, topics, now)
        except IntegrityError:  # PostgreSQL: the same address signed up at the same moment
            found = self.get_subscriber(address)
            if found is None:
                raise
            return found

    def _add_subscriber(self, address, name, status, countries, topics, now) -> Subscriber:
        with self.write() as conn:
            row = conn.execute(select(S).where(S.c.email == address)).first()
            if row is not None:
                if row.status != "unsubscribed":
                    return _subscriber(row)
                conn.execute(
                    S.update().where(S.c.email == address).values(
                        status="pending", name=name or row.name, countries=_norm_countries(countries),
                        topics=_norm_topics(topics), updated_at=now,
                    )
                )
                return _subscriber(conn.execute(select(S).where(S.c.email == address)).first())
            conn.execute(
                S.insert().values(
                    email=address, name=(name or None), status=status,
                    countries=_norm_countries(countries), topics=_norm_topics(topics),
                    token=secrets.token_urlsafe(32), created_at=now, updated_at=now,
                    confirmed_at=now if status == "active" else None,
                )
            )
            return _subscriber(conn.execute(select(S).where(S.c.email == address)).first())

    def get_subscriber(self, email: str) -> Subscriber | None:
        try:
            address = normalize_email(email)
        except FeedpipeError:
            return None
        with self.read() as conn:
            row = conn.execute(select(S).where(S.c.email == address)).first()
        return _subscriber(row) if row else None

    def get_subscriber_by_token(self, token: str) -> Subscriber | None:
        """The subscriber holding `token`, compared in constant time (the index only narrows the
        search by a short prefix, so timing tells nothing useful about the rest)."""
        if not token or len(token) < _TOKEN_BUCKET or len(token) > 128:
            return None
        with self.read() as conn:
            rows = conn.execute(
                select(S).where(func.substr(S.c.token, 1, _TOKEN_BUCKET) == token[:_TOKEN_BUCKET])
            ).all()
        found = None
        for row in rows:
            if hmac.compare_digest(row.token.encode(), token.encode()):
                found = row
        return _subscriber(found) if found is not None else None

    def set_subscriber_status(self, email: str, status: str, *, now: datetime) -> Subscriber:
        """Change the status; becoming active records `confirmed_at` the first time."""
        _check_status(status)
        address = normalize_email(email)
        with self.write() as conn:
            row = conn.execute(select(S).where(S.c.email == address)).first()
            if row is None:
                raise FeedpipeError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
            values = {"status": status, "updated_at": now}
            if status == "active" and row.confirmed_at is None:
                values["confirmed_at"] = now
            conn.execute(S.update().where(S.c.email == address).values(**values))
            return _subscriber(conn.execute(select(S).where(S.c.email == address)).first())

    def set_subscriber_preferences(
        self, email: str, *, countries: Iterable[str], topics: Iterable[str], now: datetime
    ) -> Subscriber:
        """Replace the subscriber's countries and topics (empty both = everything)."""
        address = normalize_email(email)
        with self.write() as conn:
            done = conn.execute(
                S.update().where(S.c.email == address).values(
                    countries=_norm_countries(countries), topics=_norm_topics(topics), updated_at=now
                )
            )
            if done.rowcount != 1:
                raise FeedpipeError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
            return _subscriber(conn.execute(select(S).where(S.c.email == address)).first())

    def subscribers(self, status: str | None = None) -> list[Subscriber]:
        """All subscribers (or those with `status`), by address."""
        query = select(S).order_by(S.c.email)
        if status is not None:
            query = query.where(S.c.status == status)
        with self.read() as conn:
            return [_subscriber(r) for r in conn.execute(query)]

    def iter_subscribers(self, status: str | None = "active", batch_size: int = 500) -> Iterator[Subscriber]:
        """Subscribers by address, a batch per read, so a large list stays flat in memory."""
        last = ""
        while True:
            query = select(S).where(S.c.email > last).order_by(S.c.email).limit(batch_size)
            if status is not None:
                query = query.where(S.c.status == status)
            with self.read() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield _subscriber(row)
            last = rows[-1].email

    def count_subscribers(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(S)
        if status is not None:
            query = query.where(S.c.status == status)
        with self.read() as conn:
            return conn.execute(query).scalar_one()

    def remove_subscriber(self, email: str) -> bool:
        """Delete the address and its preferences; True if it was there. The ledger keeps its rows."""
        try:
            address = normalize_email(email)
        except FeedpipeError:
            return False
        with self.write() as conn:
            return conn.execute(S.delete().where(S.c.email == address)).rowcount == 1

    # ---- editions ----------------------------------------------------------------------------

    def edition(self, key: str) -> Edition | None:
        with self.read() as conn:
            row = conn.execute(select(E).where(E.c.key == key)).first()
        return _edition(row) if row else None

    def editions(self, status: str | None = None) -> list[Edition]:
        """Editions, newest key first."""
        query = select(E).order_by(E.c.key.desc())
        if status is not None:
            query = query.where(E.c.status == status)
        with self.read() as conn:
            return [_edition(r) for r in conn.execute(query)]

    def ensure_edition(
        self, key: str, *, window_start: datetime | None, window_end: datetime | None, now: datetime
    ) -> Edition:
        """The edition `key`, created as "building" with this window when absent; a building edition
        gets its window updated, a sending or sent one is left as it is."""
        with self.write() as conn:
            row = conn.execute(select(E).where(E.c.key == key)).first()
            if row is None:
                conn.execute(
                    E.insert().values(key=key, status="building", window_start=window_start,
                                      window_end=window_end, created_at=now)
                )
            elif row.status == "building":
                conn.execute(
                    E.update().where(E.c.key == key).values(window_start=window_start, window_end=window_end)
                )
            return _edition(conn.execute(select(E).where(E.c.key == key)).first())

    def claim_edition(self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10)) -> bool:
        """Atomically take the right to send `key`: True for exactly one caller.

        A building edition (or one not yet stored) becomes "sending" with a lease until now + lease.
        A sending edition whose lease has expired (its sender died) can be taken over; a live lease,
        or a sent/skipped edition, gives False.
        """
        try:
            with self.write() as conn:
                if conn.execute(select(E.c.key).where(E.c.key == key)).first() is None:
                    conn.execute(E.insert().values(key=key, status="sending", created_at=now, lease_until=now + lease))
                    return True
        except IntegrityError:  # PostgreSQL: another process inserted it first, and so holds the claim
            return False
        with self.write() as conn:
            done = conn.execute(
                E.update()
                .where(
                    E.c.key == key,
                    or_(
                        E.c.status == "building",
                        and_(E.c.status == "sending", or_(E.c.lease_until.is_(None), E.c.lease_until < now)),
                    ),
                )
                .values(status="sending", lease_until=now + lease)
            )
            return done.rowcount == 1

    def renew_edition_lease(self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10)) -> bool:
        with self.write() as conn:
            done = conn.execute(
                E.update().where(E.c.key == key, E.c.status == "sending").values(lease_until=now + lease)
            )
            return done.rowcount == 1

    def release_edition(self, key: str) -> None:
        """Give up the lease of a sending edition (an aborted run) so that the next run may resume it."""
        with self.write() as conn:
            conn.execute(E.update().where(E.c.key == key, E.c.status == "sending").values(lease_until=None))

    def finish_edition(self, key: str, status: str, *, now: datetime, subject: str | None = None) -> None:
        """Mark an edition sent or skipped (final: due_edition will not offer it again)."""
        if status not in ("sent", "skipped"):
            raise ValueError(f"finish_edition: status must be sent or skipped, not {status!r}")
        with self.write() as conn:
            if conn.execute(select(E.c.key).where(E.c.key == key)).first() is None:
                conn.execute(E.insert().values(key=key, status=status, created_at=now))
            values = {"status": status, "sent_at": now, "lease_until": None}
            if subject is not None:
                values["subject"] = subject
            conn.execute(E.update().where(E.c.key == key).values(**values))

    def set_edition_subject(self, key: str, subject: str) -> None:
        with self.write() as conn:
            conn.execute(E.update().where(E.c.key == key).values(subject=subject))

    # ---- editor's picks ----------------------------------------------------------------------

    def pick(self, edition: str, article_id: str, pitch: str | None = None) -> Pick:
        """Add an article to the edition's picks (at the end), or update the pitch of one already picked."""
        with self.write() as conn:
            row = conn.execute(select(P).where(P.c.edition == edition, P.c.article_id == article_id)).first()
            if row is not None:
                if pitch is not None:
                    conn.execute(
                        P.update().where(P.c.edition == edition, P.c.article_id == article_id).values(pitch=pitch)
                    )
                return Pick(edition=edition, article_id=article_id, position=row.position,
                            pitch=pitch if pitch is not None else row.pitch)
            last = conn.execute(select(func.max(P.c.position)).where(P.c.edition == edition)).scalar()
            position = 0 if last is None else last + 1
            conn.execute(P.insert().values(edition=edition, article_id=article_id, position=position, pitch=pitch))
            return Pick(edition=edition, article_id=article_id, position=position, pitch=pitch)

    def unpick(self, edition: str, article_id: str) -> bool:
        with self.write() as conn:
            return conn.execute(P.delete().where(P.c.edition == edition, P.c.article_id == article_id)).rowcount == 1

    def order(self, edition: str, article_ids: Iterable[str]) -> list[Pick]:
        """Put these picks first, in this order; the others follow in their old order."""
        wanted = list(dict.fromkeys(article_ids))
        with self.write() as conn:
            current = [r.article_id for r in conn.execute(
                select(P.c.article_id).where(P.c.edition == edition).order_by(P.c.position)
            )]
            unknown = [a for a in wanted if a not in current]
            if unknown:
                raise FeedpipeError(
                    f"not picked for {edition}: {', '.join(unknown)}", "pick them first with `feedpipe digest pick URL`"
                )
            new_order = wanted + [a for a in current if a not in wanted]
            for position, article_id in enumerate(new_order):
                conn.execute(
                    P.update().where(P.c.edition == edition, P.c.article_id == article_id).values(position=position)
                )
        return self.picks(edition)

    def picks(self, edition: str) -> list[Pick]:
        with self.read() as conn:
            rows = conn.execute(select(P).where(P.c.edition == edition).order_by(P.c.position)).all()
        return [Pick(edition=r.edition, article_id=r.article_id, position=r.position, pitch=r.pitch) for r in rows]

    # ---- the send ledger ---------------------------------------------------------------------

    def ledger_enqueue(self, edition: str, *, now: datetime) -> int:
        """Add a pending row for every active subscriber who has none for this edition (set-based,
        so it is one statement whatever the list size). Returns how many were added."""
        source = select(
            literal(edition), S.c.email, literal("pending"), literal(0), literal(now, type_=L.c.updated_at.type)
        ).where(
            S.c.status == "active",
            ~exists().where(L.c.edition == edition, L.c.email == S.c.email),
        )
        count = select(func.count()).select_from(L).where(L.c.edition == edition)
        with self.write() as conn:
            before = conn.execute(count).scalar_one()
            conn.execute(L.insert().from_select(["edition", "email", "state", "attempts", "updated_at"], source))
            return conn.execute(count).scalar_one() - before

    def ledger_pending(self, edition: str, *, after: str = "", limit: int = 500) -> list[str]:
        """Addresses still pending for the edition, in address order after `after` (keyset paging)."""
        with self.read() as conn:
            return list(conn.execute(
                select(L.c.email).where(L.c.edition == edition, L.c.state == "pending", L.c.email > after)
                .order_by(L.c.email).limit(limit)
            ).scalars())

    def ledger_transition(
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
        values: dict = {"state": to, "updated_at": now}
        if error is not None:
            values["last_error"] = error[:1000]
        if message_id is not None:
            values["message_id"] = message_id
        if count_attempt:
            values["attempts"] = L.c.attempts + 1
        with self.write() as conn:
            done = conn.execute(
                L.update().where(L.c.edition == edition, L.c.email == email, L.c.state == expect).values(**values)
            )
            return done.rowcount == 1

    def ledger_pending_subscribers(self, edition: str, *, after: str = "", limit: int = 500) -> list[Subscriber]:
        """The subscribers whose rows are pending, in address order after `after`, with their current
        status (a row whose subscriber has gone comes back with status "removed")."""
        query = (
            select(L.c.email, S)
            .select_from(L.outerjoin(S, S.c.email == L.c.email))
            .where(L.c.edition == edition, L.c.state == "pending", L.c.email > after)
            .order_by(L.c.email)
            .limit(limit)
        )
        with self.read() as conn:
            rows = conn.execute(query).all()
        out = []
        for row in rows:
            if row._mapping[S.c.email] is None:
                out.append(Subscriber(email=row._mapping[L.c.email], status="removed"))
            else:
                m = row._mapping
                out.append(Subscriber(
                    email=m[S.c.email], name=m[S.c.name], status=m[S.c.status],
                    countries=tuple(m[S.c.countries] or ()), topics=tuple(m[S.c.topics] or ()), token=m[S.c.token],
                    created_at=m[S.c.created_at], confirmed_at=m[S.c.confirmed_at], updated_at=m[S.c.updated_at],
                ))
        return out

    def ledger_step(
        self,
        edition: str,
        *,
        finished: Iterable[tuple[str, str, str | None, str | None]] = (),
        claim: str | None = None,
        now: datetime,
    ) -> bool:
        """One write transaction for a sender's step: record the outcomes of messages whose answer came
        (`finished` = (email, state, error, message_id) each, from "sending") and claim the next one
        (`claim` = email, pending → sending, counting an attempt). Returns whether the claim succeeded."""
        with self.write() as conn:
            return _ledger_step(conn, edition, finished, claim, now)

    @contextlib.contextmanager
    def ledger_session(self, edition: str) -> Iterator[Callable[..., bool]]:
        """`ledger_step` for a long send: yields step(finished=..., claim=..., now=...), each call its own
        write transaction, all on one connection held for the session (no pool round trip per message)."""
        with self.write() as first:  # the same kind of connection write() gives, kept open below
            engine_options = first.get_execution_options()
        with self.engine.connect() as conn:
            conn = conn.execution_options(**engine_options)

            def step(*, finished=(), claim: str | None = None, now: datetime) -> bool:
                with conn.begin():
                    return _ledger_step(conn, edition, finished, claim, now)

            yield step

    def ledger_claim(self, edition: str, email: str, *, now: datetime) -> bool:
        """pending → sending (counting an attempt): only the caller that gets True may send."""
        return self.ledger_transition(edition, email, expect="pending", to="sending", now=now, count_attempt=True)

    def ledger_recover(self, edition: str, *, now: datetime) -> int:
        """Rows left "sending" by a sender that died: the message may or may not have gone, so they
        become "uncertain" (never blindly resent). Call only while holding the edition's claim."""
        with self.write() as conn:
            return conn.execute(
                L.update().where(L.c.edition == edition, L.c.state == "sending").values(
                    state="uncertain", updated_at=now,
                    last_error="the sender stopped while this message was in flight",
                )
            ).rowcount

    def ledger(self, edition: str | None = None, state: str | None = None) -> list[LedgerEntry]:
        query = select(L).order_by(L.c.edition, L.c.email)
        if edition is not None:
            query = query.where(L.c.edition == edition)
        if state is not None:
            query = query.where(L.c.state == state)
        with self.read() as conn:
            return [_entry(r) for r in conn.execute(query)]

    def ledger_entry(self, edition: str, email: str) -> LedgerEntry | None:
        with self.read() as conn:
            row = conn.execute(select(L).where(L.c.edition == edition, L.c.email == email)).first()
        return _entry(row) if row else None

    def ledger_counts(self, edition: str) -> dict[str, int]:
        with self.read() as conn:
            rows = conn.execute(
                select(L.c.state, func.count()).where(L.c.edition == edition).group_by(L.c.state)
            ).all()
        counts = dict.fromkeys(LEDGER_STATES, 0)
        counts.update({state: n for state, n in rows})
        return counts

    def uncertain(self, edition: str | None = None) -> list[LedgerEntry]:
        """Messages whose fate is unknown (the connection dropped after DATA): for an operator to resolve."""
        return self.ledger(edition, "uncertain")

    def resolve_uncertain(self, edition: str, email: str, state: str, *, now: datetime) -> bool:
        """An operator's verdict on an uncertain message: "sent" (it arrived) or "failed"."""
        if state not in ("sent", "failed"):
            raise FeedpipeError(f"cannot resolve to {state!r}", "resolve an uncertain message as sent or failed")
        return self.ledger_transition(
            edition, normalize_email(email), expect="uncertain", to=state, now=now, error=f"resolved as {state}"
        )
