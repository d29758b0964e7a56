"""Subscribers: addresses (validated and normalised), preferences, status and the secret token.

An address is stored as the subscriber wrote it (email-validator's normal form) and found by its
identity key (feedpipe.core.address.identity_key: case-insensitive domain and local part), so
`Anna@Example.ORG` and `anna@example.org` are one subscriber, whichever form is given."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from feedpipe.core.address import identity_key
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SUBSCRIBER_STATUSES, Subscriber
from feedpipe.core.text import one_line
from feedpipe.store.address_syntax import normalize_email as normalize_email  # (re-exported: its old home)
from feedpipe.store.bulk import BulkInsert, roomy_cache
from feedpipe.store.digest_schema import subscribers
from feedpipe.store.engine import Database
from feedpipe.store.subscriber_identity import address_key, token_aliases
from feedpipe.store.suppression import (
    SUPPRESSING,
    Suppressed,
    check_addable,
    key_hasher,
    read_secret,
    record_added,
    record_status_change,
    suppressed_hashes,
)

_NEW_ROW = ("email", "address_key", "name", "status", "countries", "topics", "token", "created_at", "updated_at",
            "confirmed_at")  # the columns of a row `add_many` inserts
_TOKEN_BUCKET = 8  # the token prefix used to find candidates before the constant-time compare


def _normed(done: dict[tuple[str, ...], tuple[str, ...]], codes: tuple[str, ...],
            norm: Callable[[Iterable[str]], list[str]]) -> tuple[str, ...]:
    codes = tuple(codes)  # (a caller may give a list)
    found = done.get(codes)
    if found is None:
        found = done[codes] = tuple(norm(codes))
    return found


def _norm_countries(codes: Iterable[str]) -> list[str]:
    return sorted({c.strip().upper() for c in codes if c and c.strip()})


def _norm_topics(codes: Iterable[str]) -> list[str]:
    return sorted({t.strip() for t in codes if t and t.strip()})


def subscriber_from_row(row: Row[*tuple[Any, ...]]) -> Subscriber:
    m = row._mapping
    return Subscriber(
        email=m["email"],
        name=m["name"],
        status=m["status"],
        countries=tuple(m["countries"] or ()),
        topics=tuple(m["topics"] or ()),
        token=m["token"],
        created_at=m["created_at"],
        confirmed_at=m["confirmed_at"],
        updated_at=m["updated_at"],
    )


def _stored(conn: Connection, key: str) -> Subscriber:
    """The row of an identity key known to be stored (read inside the transaction that wrote it)."""
    return subscriber_from_row(conn.execute(select(subscribers).where(subscribers.c.address_key == key)).one())


@dataclass(frozen=True, kw_only=True)
class NewSubscriber:
    """One row of an import, before validation (see `SubscriberRepository.add_many`)."""

    email: str
    name: str | None = None
    status: str = "active"
    countries: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


_KNOWN = select(subscribers.c.address_key, subscribers.c.status, subscribers.c.updated_at).where(
    subscribers.c.address_key.in_(bindparam("keys", expanding=True)))  # a batch's rows already on the list


def _tokens(count: int) -> list[str]:
    """`count` fresh secret tokens, as `secrets.token_urlsafe(32)` makes them, from one read of the
    system's random source."""
    pool = secrets.token_bytes(32 * count)
    return [base64.urlsafe_b64encode(pool[start:start + 32]).rstrip(b"=").decode("ascii")
            for start in range(0, len(pool), 32)]


def _check_status(status: str) -> None:
    if status not in SUBSCRIBER_STATUSES:
        raise FeedpipeError(
            f"unknown subscriber status {status!r}", f"use one of {', '.join(SUBSCRIBER_STATUSES)}"
        )


def _match(rows: Sequence[Row[*tuple[Any, ...]]], token: str) -> Row[*tuple[Any, ...]] | None:
    """The row whose token is `token`, every candidate compared in constant time."""
    found = None
    for row in rows:
        if hmac.compare_digest(row.token.encode(), token.encode()):
            found = row
    return found


class SubscriberRepository:
    """The mailing list. Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        email: str,
        *,
        name: str | None = None,
        status: str = "pending",
        countries: Iterable[str] = (),
        topics: Iterable[str] = (),
        now: datetime,
        opt_in: bool = False,
    ) -> Subscriber:
        """Add an address (validated and normalised) with a fresh secret token.

        An address already on the list is returned as it is. A suppressed address (unsubscribed,
        bounced, complained, removed: `store.suppression`) raises `Suppressed`, unless `opt_in`: the
        person signing up on the web themselves, whose unsubscribed or bounced row then becomes pending
        (its preferences replaced by the new ones) until they confirm.
        """
        _check_status(status)
        address = normalize_email(email)
        name = one_line(name)[:200] or None  # a name reaches the To header: never a line break
        try:
            return self._add(address, name, status, countries, topics, now, opt_in)
        except IntegrityError:  # PostgreSQL: the same address signed up at the same moment
            found = self.get(address)
            if found is None:
                raise
            return found

    def _add(
        self,
        address: str,
        name: str | None,
        status: str,
        countries: Iterable[str],
        topics: Iterable[str],
        now: datetime,
        opt_in: bool,
    ) -> Subscriber:
        key = identity_key(address)
        with self._db.write() as conn:
            row = conn.execute(select(subscribers).where(subscribers.c.address_key == key)).first()
            if row is not None:
                if row.status not in SUPPRESSING:
                    return subscriber_from_row(row)
                if not opt_in:
                    check_addable(conn, address, opt_in=False)  # raises with the list's reason
                    raise Suppressed(row.email, row.status, row.updated_at)
                record_status_change(conn, address, row.status, "pending", reason="signed up again on the web",
                                     now=now, opt_in=True)
                conn.execute(
                    subscribers.update()
                    .where(subscribers.c.address_key == key)
                    .values(
                        status="pending",
                        name=name or row.name,
                        countries=_norm_countries(countries),
                        topics=_norm_topics(topics),
                        updated_at=now,
                    )
                )
                return _stored(conn, key)
            check_addable(conn, address, opt_in=opt_in)
            record_status_change(conn, address, None, status, now=now, opt_in=opt_in, checked=True,
                                 reason="signed up on the web" if opt_in else "added by the operator")
            conn.execute(
                subscribers.insert().values(
                    email=address,
                    address_key=key,
                    name=(name or None),
                    status=status,
                    countries=_norm_countries(countries),
                    topics=_norm_topics(topics),
                    token=secrets.token_urlsafe(32),
                    created_at=now,
                    updated_at=now,
                    confirmed_at=now if status == "active" else None,
                )
            )
            return _stored(conn, key)

    def add_many(self, items: Sequence[NewSubscriber], *, now: datetime) -> list[bool | FeedpipeError]:
        """`add` for a batch in one transaction (an import): per item True (added), False (already on
        the list, kept as it is) or the FeedpipeError that refused it (bad address or status;
        `Suppressed` for an address on the suppression list or a row unsubscribed, bounced or
        complained: an operator never brings it back). Each added row's status change is recorded, as
        `add` does. An address twice in one batch is added once (the repeat is False, or `Suppressed` when
        the first added it unsubscribed or bounced, as `add` would say). Memory and queries grow with the batch,
        not the list: import in batches of a few thousand."""
        outcome: list[bool | FeedpipeError] = []
        wanted: dict[str, tuple[str, NewSubscriber]] = {}  # identity key -> (address, first item)
        keys: list[str | None] = []
        for item in items:
            try:
                _check_status(item.status)
                address = normalize_email(item.email)
            except FeedpipeError as exc:
                outcome.append(FeedpipeError(exc.message, exc.hint))  # no traceback: it would hold this
                # frame, and the whole batch with it, until a full garbage collection
                keys.append(None)
                continue
            key = address_key(address)
            outcome.append(key not in wanted)
            keys.append(key)
            wanted.setdefault(key, (address, item))
        existing: dict[str, tuple[str, datetime | None]] = {}
        refused: dict[str, Suppressed] = {}
        refused_again: dict[str, Suppressed] = {}  # the repeats of a row added suppressed
        try:
            with self._db.write() as conn, roomy_cache(conn, len(wanted)):
                batch = list(wanted)
                for start in range(0, len(batch), 500):
                    for key, status, updated in conn.execute(_KNOWN, {"keys": batch[start : start + 500]}):
                        existing[key] = (status, updated)
                key_hash = key_hasher(read_secret(conn))
                hashes = {key: key_hash(key) for key in wanted}
                listed = suppressed_hashes(conn, {hashes[k]: k for k in wanted  # the list's reason wins
                                                  if k not in existing or existing[k][0] in SUPPRESSING})
                rows, added = [], []
                tokens = iter(_tokens(len(wanted)))
                countries: dict[tuple[str, ...], tuple[str, ...]] = {}  # a batch repeats a few preference sets
                topics: dict[tuple[str, ...], tuple[str, ...]] = {}
                for key, (address, item) in wanted.items():
                    if key in listed:
                        found = listed[key]
                        refused[key] = Suppressed(address, found.reason, found.since)
                        continue
                    if key in existing:
                        status, updated = existing[key]
                        if status in SUPPRESSING:
                            refused[key] = Suppressed(address, status, updated)
                        continue
                    added.append((hashes[key], item.status))
                    rows.append((address, key, one_line(item.name)[:200] or None, item.status,
                                 _normed(countries, item.countries, _norm_countries),
                                 _normed(topics, item.topics, _norm_topics),
                                 next(tokens), now, now, now if item.status == "active" else None))
                record_added(conn, added, reason="added by the operator", now=now)  # as `add` does
                BulkInsert(conn, subscribers, _NEW_ROW).run(rows)  # in the key's order: fewer pages
        except IntegrityError:  # PostgreSQL: an address of the batch signed up meanwhile; one by one
            return self._add_each(items, now)
        for key, (address, item) in wanted.items():  # a repeat of a row this batch added unsubscribed or
            if key not in existing and key not in refused and item.status in SUPPRESSING:  # bounced: as `add`
                refused_again[key] = Suppressed(address, item.status, now)
        return [o if isinstance(o, FeedpipeError) or k is None
                else refused.get(k, k not in existing) if o else refused.get(k, refused_again.get(k, False))
                for o, k in zip(outcome, keys, strict=True)]

    def _add_each(self, items: Sequence[NewSubscriber], now: datetime) -> list[bool | FeedpipeError]:
        out: list[bool | FeedpipeError] = []
        for item in items:
            try:
                before = self.get(item.email)
                self.add(item.email, name=item.name, status=item.status, countries=item.countries,
                         topics=item.topics, now=now)
                out.append(before is None)
            except FeedpipeError as exc:
                out.append(exc)
        return out

    def get(self, email: str) -> Subscriber | None:
        try:
            address = normalize_email(email)
        except FeedpipeError:
            return None
        with self._db.read() as conn:
            row = conn.execute(select(subscribers).where(subscribers.c.address_key == identity_key(address))).first()
        return subscriber_from_row(row) if row else None

    def by_token(self, token: str) -> Subscriber | None:
        """The subscriber holding `token`, compared in constant time (the index only narrows the
        search by a short prefix, so timing tells nothing useful about the rest)."""
        if not token or len(token) < _TOKEN_BUCKET or len(token) > 128:
            return None
        prefix = token[:_TOKEN_BUCKET]
        with self._db.read() as conn:
            rows = conn.execute(
                select(subscribers).where(func.substr(subscribers.c.token, 1, _TOKEN_BUCKET) == prefix)
            ).all()
            found = _match(rows, token)
            if found is None:  # the token of a duplicate merged into another subscriber (migration 120)
                alias = _match(conn.execute(select(token_aliases).where(
                    func.substr(token_aliases.c.token, 1, _TOKEN_BUCKET) == prefix)).all(), token)
                if alias is not None:
                    found = conn.execute(select(subscribers).where(subscribers.c.email == alias.email)).first()
        return subscriber_from_row(found) if found is not None else None

    def set_status(self, email: str, status: str, *, now: datetime, reason: str = "",
                   opt_in: bool = False) -> Subscriber:
        """Change the status; becoming active records `confirmed_at` the first time. The change is
        recorded with its `reason` and time; unsubscribed or bounced suppresses the address, and only
        the person (`opt_in`: the web sign-up and its confirmation) may bring a suppressed one back
        (`Suppressed` otherwise). See `store.suppression.record_status_change`."""
        _check_status(status)
        address = normalize_email(email)
        key = identity_key(address)
        with self._db.write() as conn:
            row = conn.execute(select(subscribers).where(subscribers.c.address_key == key)).first()
            if row is None:
                raise FeedpipeError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
            record_status_change(conn, address, row.status, status, reason=reason, now=now, opt_in=opt_in)
            values: dict[str, Any] = {"status": status, "updated_at": now}
            if status == "active" and row.confirmed_at is None:
                values["confirmed_at"] = now
            conn.execute(subscribers.update().where(subscribers.c.address_key == key).values(**values))
            return _stored(conn, key)

    def set_preferences(
        self, email: str, *, countries: Iterable[str], topics: Iterable[str], now: datetime
    ) -> Subscriber:
        """Replace the subscriber's countries and topics (empty both = everything)."""
        address = normalize_email(email)
        key = identity_key(address)
        with self._db.write() as conn:
            done = conn.execute(
                subscribers.update()
                .where(subscribers.c.address_key == key)
                .values(countries=_norm_countries(countries), topics=_norm_topics(topics), updated_at=now)
            )
            if done.rowcount != 1:
                raise FeedpipeError(f"{address} is not a subscriber", "see `feedpipe subscribers list`")
            return _stored(conn, key)

    def all(self, status: str | None = None) -> list[Subscriber]:
        """All subscribers (or those with `status`), by address."""
        query = select(subscribers).order_by(subscribers.c.email)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        with self._db.read() as conn:
            return [subscriber_from_row(r) for r in conn.execute(query)]

    def iter(self, status: str | None = "active", batch_size: int = 500) -> Iterator[Subscriber]:
        """Subscribers by address, a batch per read, so a large list stays flat in memory."""
        for page in self.pages(status, batch_size):
            yield from page

    def pages(self, status: str | None = None, batch_size: int = 1000) -> Iterator[list[Subscriber]]:
        """All subscribers (or those with `status`) by address, a list of up to `batch_size` per read
        (keyset paging on the address: each read is short, and memory stays flat in the list's size)."""
        query = select(subscribers).where(subscribers.c.email > bindparam("after")).order_by(subscribers.c.email)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        query = query.limit(batch_size)
        last = ""
        while True:
            with self._db.read() as conn:
                page = [subscriber_from_row(row) for row in conn.execute(query, {"after": last})]
            if not page:
                return
            yield page
            last = page[-1].email

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(subscribers)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def remove(self, email: str) -> bool:
        """Delete the address and its preferences; True if it was there. The ledger keeps its rows."""
        try:
            address = normalize_email(email)
        except FeedpipeError:
            return False
        with self._db.write() as conn:
            row = conn.execute(select(subscribers.c.email).where(subscribers.c.address_key == identity_key(address))).first()
            if row is None:
                return False
            conn.execute(token_aliases.delete().where(token_aliases.c.email == row.email))
            return conn.execute(subscribers.delete().where(subscribers.c.email == row.email)).rowcount == 1
