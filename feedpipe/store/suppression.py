"""The suppression list: addresses that must not be mailed, kept after the subscriber is gone.

An address is suppressed when its subscriber unsubscribes (one-click, a link, a complaint), hard-bounces
or is removed by the operator. The list holds a keyed hash of the address (HMAC-SHA256 of
`core.address.identity_key`, keyed with the store's own secret in `meta`), never the address: it says
"this one said stop" without saying who. An operator's `add` or `import` of a suppressed address is
refused with the reason (`Suppressed`); only the person can come back, through the web sign-up and
its double opt-in (`opt_in=True` on the way in; the confirmation lifts the suppression).

Every status change is recorded in `subscriber_events` with its reason and time, in the transaction
that makes it (`record_status_change`, called by `SubscriberRepository.set_status`).

The conn-level functions serve `store/subscribers.py`; `SuppressionRepository` serves the CLI and the
bounce service (remove, erase, export).
"""

from __future__ import annotations

import hmac
import secrets
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, bindparam, func, or_, select

from feedpipe.core.address import identity_key
from feedpipe.core.errors import FeedpipeError
from feedpipe.store.bulk import BulkInsert
from feedpipe.store.digest_schema import send_ledger, subscribers
from feedpipe.store.engine import Database
from feedpipe.store.hygiene_schema import bounce_events, return_paths, subscriber_events, suppressions
from feedpipe.store.migration import Migration
from feedpipe.store.schema import meta
from feedpipe.store.subscriber_identity import token_aliases

SECRET_KEY = "hygiene.secret"  # the meta key of the HMAC secret (created by migration 350)
SUPPRESSING = ("unsubscribed", "bounced")  # statuses that suppress the address


class Suppressed(FeedpipeError):
    """The address is on the suppression list: an operator cannot put it back."""

    exit_code = 2

    def __init__(self, address: str, reason: str, since: datetime | None) -> None:
        when = f" on {since:%Y-%m-%d}" if since else ""
        super().__init__(f"{address} is suppressed ({reason}{when}): it is not added",
                         "only the person can come back, by signing up on the web form and confirming")
        self.address, self.reason, self.since = address, reason, since


@dataclass(frozen=True, kw_only=True)
class Suppression:
    reason: str
    detail: str | None
    since: datetime


def ensure_secret(conn: Connection) -> str:
    """The store's HMAC secret, created on first use."""
    found = conn.execute(select(meta.c.value).where(meta.c.key == SECRET_KEY)).scalar()
    if found:
        return str(found)
    value = secrets.token_hex(32)
    conn.execute(meta.insert().values(key=SECRET_KEY, value=value))
    return value


_SECRETS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()  # read once per engine


def read_secret(conn: Connection) -> str:
    """The store's HMAC secret (it never changes once made, so it is read once per engine)."""
    cached = _SECRETS.get(conn.engine)
    if cached is not None:
        return cached
    found = conn.execute(select(meta.c.value).where(meta.c.key == SECRET_KEY)).scalar()
    if not found:
        raise FeedpipeError("the store has no hygiene secret", "run any feedpipe command once to migrate the store")
    _SECRETS[conn.engine] = str(found)
    return str(found)


def keyed_hash(secret: str, address: str) -> str:
    """HMAC-SHA256 (hex) of the address's identity key."""
    return key_hasher(secret)(identity_key(address))


def key_hasher(secret: str) -> Callable[[str], str]:
    """`keyed_hash` of an identity key already worked out, with the secret encoded once (for a batch)."""
    raw = secret.encode()

    def key_hash(key: str) -> str:
        return hmac.digest(raw, key.encode("utf-8"), "sha256").hex()

    return key_hash


def suppression_of(conn: Connection, key_hash: str) -> Suppression | None:
    row = conn.execute(select(suppressions).where(suppressions.c.key_hash == key_hash)).first()
    if row is None:
        return None
    return Suppression(reason=row.reason, detail=row.detail, since=row.created_at)


def suppress(conn: Connection, key_hash: str, reason: str, detail: str | None, now: datetime) -> None:
    """Put the hash on the list; an address already there keeps its first reason and date."""
    if conn.execute(select(suppressions.c.key_hash).where(suppressions.c.key_hash == key_hash)).first():
        conn.execute(suppressions.update().where(suppressions.c.key_hash == key_hash).values(updated_at=now))
        return
    conn.execute(suppressions.insert().values(key_hash=key_hash, reason=reason, detail=(detail or None),
                                              created_at=now, updated_at=now))


def suppressed_among(conn: Connection, addresses: list[str]) -> dict[str, Suppression]:
    """Which of `addresses` are on the suppression list, in the caller's transaction (a batch import)."""
    if not addresses:
        return {}
    secret = read_secret(conn)
    return suppressed_hashes(conn, {keyed_hash(secret, a): a for a in addresses})


_LISTED = select(suppressions).where(suppressions.c.key_hash.in_(bindparam("hashes", expanding=True)))


def suppressed_hashes(conn: Connection, hashes: dict[str, str]) -> dict[str, Suppression]:
    """Which of a batch's addresses, given as {keyed hash: anything naming it}, are on the suppression
    list (keyed by what names them), in the caller's transaction: `suppressed_among` for a batch whose
    hashes are already worked out."""
    found: dict[str, Suppression] = {}
    chunk = list(hashes)
    for start in range(0, len(chunk), 500):
        for row in conn.execute(_LISTED, {"hashes": chunk[start:start + 500]}):
            found[hashes[row.key_hash]] = Suppression(reason=row.reason, detail=row.detail, since=row.created_at)
    return found


def _cause(status: str, reason: str) -> str:
    """Why an address goes on the suppression list: a complaint (whatever status it set), else the status."""
    return "complained" if reason.startswith("complaint") else status


def record_added(conn: Connection, added: Iterable[tuple[str, str]], *, reason: str, now: datetime) -> None:
    """`record_status_change(conn, address, None, status, reason=reason, checked=True, opt_in=False)` for
    a batch of new rows given as (keyed hash, status), the events in one executemany: the caller has
    checked the suppression list for them in this transaction. A row added unsubscribed or bounced
    suppresses its address, as one added alone does."""
    reason = reason or "operator"
    events = []
    for key_hash, status in added:
        events.append((key_hash, now, None, status, reason[:500]))
        if status in SUPPRESSING:
            suppress(conn, key_hash, _cause(status, reason), reason, now)
    BulkInsert(conn, subscriber_events, ("key_hash", "at", "old_status", "new_status", "reason")).run(events)


def check_addable(conn: Connection, address: str, *, opt_in: bool) -> None:
    """Raise `Suppressed` when an operator (not the person, `opt_in`) would put a suppressed address back."""
    if opt_in:
        return
    found = suppression_of(conn, keyed_hash(read_secret(conn), address))
    if found is not None:
        raise Suppressed(address, found.reason, found.since)


def record_status_change(conn: Connection, address: str, old: str | None, new: str, *, reason: str,
                         now: datetime, opt_in: bool, checked: bool = False) -> None:
    """Record a status change of `address` and keep the suppression list in step with it:
    unsubscribed or bounced suppresses (a reason starting with "complaint" suppresses as complained);
    back to pending or active needs the person (`opt_in`), and active by opt-in lifts the suppression.
    `checked`: the caller has just run `check_addable` in this transaction (a new row): the list is not
    read again unless a suppression is to be lifted."""
    key = keyed_hash(read_secret(conn), address)
    lookup = new == "active" and opt_in or (new in ("pending", "active") and not checked)
    current = suppression_of(conn, key) if lookup else None
    if new in ("pending", "active") and current is not None and not opt_in:
        raise Suppressed(address, current.reason, current.since)
    if old != new or reason:
        conn.execute(subscriber_events.insert().values(key_hash=key, at=now, old_status=old, new_status=new,
                                                       reason=(reason or "operator")[:500]))
    if new in SUPPRESSING:
        suppress(conn, key, _cause(new, reason), reason, now)
    elif new == "active" and opt_in and current is not None:
        conn.execute(suppressions.delete().where(suppressions.c.key_hash == key))


class SuppressionRepository:
    """The suppression list and what it takes to forget a person. Every method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._secret: str | None = None

    def _key(self, conn: Connection, email: str) -> str:
        if self._secret is None:
            self._secret = read_secret(conn)
        return keyed_hash(self._secret, email)

    def key_hash(self, email: str) -> str:
        with self._db.read() as conn:
            return self._key(conn, email)

    def check(self, email: str) -> Suppression | None:
        """The suppression of `email`, or None when it may be mailed."""
        with self._db.read() as conn:
            return suppression_of(conn, self._key(conn, email))

    def suppressed(self, emails: Iterable[str]) -> dict[str, Suppression]:
        """Which of `emails` are suppressed (a batch: for importing many rows at once)."""
        with self._db.read() as conn:
            return suppressed_among(conn, list(emails))

    def suppress(self, email: str, *, reason: str, detail: str | None, now: datetime) -> None:
        with self._db.write() as conn:
            suppress(conn, self._key(conn, email), reason, detail, now)

    def count(self) -> dict[str, int]:
        with self._db.read() as conn:
            counts: dict[str, int] = {}
            for (reason,) in conn.execute(select(suppressions.c.reason)):
                counts[reason] = counts.get(reason, 0) + 1
            return counts

    def remove(self, email: str, *, now: datetime) -> bool:
        """Delete the subscriber's personal data (the row, its preferences and token) and keep the
        address suppressed; the send ledger keeps its rows (what was sent stays accounted for)."""
        with self._db.write() as conn:
            key = self._key(conn, email)
            row = _subscriber_row(conn, email)
            if row is None:
                return False
            _delete_subscriber(conn, row.email)
            conn.execute(subscriber_events.insert().values(key_hash=key, at=now, old_status=row.status,
                                                           new_status=None, reason="removed by the operator"))
            suppress(conn, key, "removed" if row.status not in SUPPRESSING else row.status,
                     "subscribers remove", now)
            return True

    def erase(self, email: str, *, now: datetime) -> bool:
        """Remove everything stored about the person (row, ledger rows, return paths, history) except the
        suppression hash; bounce counts stay, no longer tied to anyone. True if anything was there."""
        with self._db.write() as conn:
            if self._db.is_sqlite:  # deleted rows are overwritten with zeros, not left in free pages
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            key = self._key(conn, email)
            row = _subscriber_row(conn, email)
            found = row is not None
            ledger_emails = {r.email for r in conn.execute(select(return_paths.c.email)
                                                            .where(return_paths.c.key_hash == key))}
            if row is not None:
                _delete_subscriber(conn, row.email)
                ledger_emails.add(row.email)
            done = conn.execute(send_ledger.delete().where(_ledger_rows(email, ledger_emails)))
            found = found or done.rowcount > 0
            found = conn.execute(return_paths.delete().where(return_paths.c.key_hash == key)).rowcount > 0 or found
            found = conn.execute(subscriber_events.delete().where(subscriber_events.c.key_hash == key)).rowcount > 0 \
                or found
            conn.execute(bounce_events.update().where(bounce_events.c.key_hash == key).values(key_hash=None))
            found = suppression_of(conn, key) is not None or found
            suppress(conn, key, "erased", "subscribers erase", now)
        if self._db.is_sqlite:  # and the write-ahead log, which still holds the old pages, is emptied
            with self._db.engine.connect() as raw:
                raw.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return found

    def export(self, email: str) -> dict[str, Any]:
        """Everything stored about one person, for an access request (JSON-ready)."""
        with self._db.read() as conn:
            key = self._key(conn, email)
            row = _subscriber_row(conn, email)
            sub = _jsonable(dict(row._mapping)) if row is not None else None
            addresses = {email} | ({row.email} if row is not None else set())
            aliases = [r.token for r in conn.execute(select(token_aliases.c.token)
                                                     .where(token_aliases.c.email.in_(sorted(addresses))))]
            ledger = [_jsonable(dict(r._mapping)) for r in conn.execute(
                select(send_ledger).where(_ledger_rows(email, addresses)).order_by(send_ledger.c.edition))]
            events = [_jsonable({k: v for k, v in r._mapping.items() if k not in ("id", "key_hash")})
                      for r in conn.execute(select(subscriber_events).where(subscriber_events.c.key_hash == key)
                                            .order_by(subscriber_events.c.at, subscriber_events.c.id))]
            bounces = [_jsonable({k: v for k, v in r._mapping.items() if k not in ("id", "key_hash")})
                       for r in conn.execute(select(bounce_events).where(bounce_events.c.key_hash == key)
                                             .order_by(bounce_events.c.at, bounce_events.c.id))]
            paths = [_jsonable({"edition": r.edition, "return_path_token": r.token}) for r in conn.execute(
                select(return_paths).where(return_paths.c.key_hash == key).order_by(return_paths.c.edition))]
            supp = suppression_of(conn, key)
            return {
                "address": email,
                "subscriber": sub,
                "token_aliases": aliases,
                "send_ledger": ledger,
                "status_history": events,
                "bounces_and_complaints": bounces,
                "return_paths": paths,
                "suppression": None if supp is None else _jsonable(
                    {"reason": supp.reason, "detail": supp.detail, "since": supp.since}),
            }


def _subscriber_row(conn: Connection, email: str) -> Any:
    return conn.execute(select(subscribers).where(subscribers.c.address_key == identity_key(email))).first()


def _ledger_rows(email: str, known: set[str]) -> ColumnElement[bool]:
    """The send-ledger rows of a person: the addresses known for them, and any spelling of the address
    that differs only in case (the ledger keeps the address as it was when the edition was sent)."""
    return or_(send_ledger.c.email.in_(sorted(known)), func.lower(send_ledger.c.email) == identity_key(email))


def _delete_subscriber(conn: Connection, email: str) -> None:
    conn.execute(token_aliases.delete().where(token_aliases.c.email == email))
    conn.execute(subscribers.delete().where(subscribers.c.email == email))


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def _backfill(conn: Connection) -> None:
    """Migration 350's data step: the secret, and the addresses that already said stop."""
    secret = ensure_secret(conn)
    for row in conn.execute(select(subscribers.c.email, subscribers.c.status, subscribers.c.updated_at)
                            .where(subscribers.c.status.in_(SUPPRESSING))).all():
        suppress(conn, keyed_hash(secret, row.email), row.status, "before the suppression list", row.updated_at)


def _v350(conn: Connection) -> None:
    suppressions.create(conn, checkfirst=True)
    subscriber_events.create(conn, checkfirst=True)
    _backfill(conn)


MIGRATIONS = [Migration(version=350, name="hygiene: suppressions (backfilled), subscriber_events", apply=_v350)]
