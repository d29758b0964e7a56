"""Return paths, bounce and complaint events, per-edition delivery figures and the webhook replay guard.

Return path tokens: every message of an edition goes out with the envelope sender `local+TOKEN@domain`,
TOKEN = the first 20 base32 characters (100 bits) of HMAC-SHA256(store secret, edition + identity key):
unguessable without the secret, the same for a resend, and kept in `return_paths` (written for the
edition's ledger rows before the send starts) so a bounce finds its edition and subscriber again.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from feedpipe.core.address import identity_key
from feedpipe.store.bulk import BulkInsert, roomy_cache
from feedpipe.store.digest_schema import editions, send_ledger
from feedpipe.store.engine import Database
from feedpipe.store.hygiene_schema import bounce_events, return_paths, subscriber_events, webhook_calls
from feedpipe.store.subscriber_identity import address_key
from feedpipe.store.suppression import key_hasher, keyed_hash, read_secret

TOKEN_LENGTH = 20
PREPARE_PAGE = 5000  # ledger rows given their return paths per transaction


@dataclass(frozen=True, kw_only=True)
class ReturnPathMatch:
    edition: str
    email: str


@dataclass(frozen=True, kw_only=True)
class EditionHealth:
    """What is known of one edition's delivery: ledger counts, bounces, complaints, unsubscribes."""

    edition: str
    sent: int
    failed: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int

    @property
    def delivered(self) -> int:
        """Sent and not (yet) reported bounced: "delivered as far as known"."""
        return max(self.sent - self.hard_bounces, 0)

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0


def return_path_token(secret: str, edition: str, email: str) -> str:
    return token_of_key(secret.encode(), edition, identity_key(email))


def token_of_key(secret: bytes, edition: str, key: str) -> str:
    """`return_path_token` of an identity key already worked out: the first TOKEN_LENGTH base32
    characters of the HMAC (from its first 15 bytes: base32 turns each 5 bytes into 8 characters)."""
    digest = hmac.digest(secret, f"rp\x1f{edition}\x1f{key}".encode(), "sha256")
    return base64.b32encode(digest[:15]).decode("ascii").lower()[:TOKEN_LENGTH]


_LEDGER_PAGE = (select(send_ledger.c.email)
                .where(send_ledger.c.edition == bindparam("edition"), send_ledger.c.email > bindparam("after"))
                .order_by(send_ledger.c.email).limit(bindparam("page")))
_STORED = select(return_paths.c.token).where(return_paths.c.token.in_(bindparam("tokens", expanding=True)))


class BounceLog:
    """Every method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._secret: str | None = None

    def _key(self, conn: Connection) -> str:
        if self._secret is None:
            self._secret = read_secret(conn)
        return self._secret

    def token(self, edition: str, email: str) -> str:
        """The return path token of (edition, address); `prepare` stores it before the send."""
        if self._secret is None:
            with self._db.read() as conn:
                self._key(conn)
        assert self._secret is not None
        return return_path_token(self._secret, edition, email)

    def prepare(self, edition: str) -> int:
        """Store the return path token of every ledger row of `edition` that has none yet; how many.
        Two processes preparing at once: the second one's insert fails and it tries once more."""
        try:
            return self._prepare(edition)
        except IntegrityError:
            return self._prepare(edition)

    def _prepare(self, edition: str) -> int:
        """A page of the edition's ledger rows at a time (keyset on the address, each page its own
        transaction, so memory stays flat in the list's size): their tokens, worked out with the HMAC
        secret read once, and the rows whose token is not stored yet (looked up by the token, the
        table's key) inserted in one executemany."""
        added, after = 0, ""
        with self._db.read() as conn:
            secret = self._key(conn)
        secret_bytes, key_hash = secret.encode(), key_hasher(secret)
        while True:
            with self._db.write() as conn, roomy_cache(conn, PREPARE_PAGE):
                emails = list(conn.execute(_LEDGER_PAGE, {"edition": edition, "after": after,
                                                          "page": PREPARE_PAGE}).scalars())
                if not emails:
                    return added
                after = emails[-1]
                rows: dict[str, tuple[str, str, str, str]] = {}  # token -> row (one per identity key)
                for email in emails:
                    key = address_key(email)
                    token = token_of_key(secret_bytes, edition, key)
                    if token not in rows:
                        rows[token] = (token, edition, email, key_hash(key))
                for known in conn.execute(_STORED, {"tokens": list(rows)}).scalars():
                    del rows[known]
                added += BulkInsert(conn, return_paths, ("token", "edition", "email", "key_hash")).run(rows.values())

    def by_token(self, token: str) -> ReturnPathMatch | None:
        with self._db.read() as conn:
            row = conn.execute(select(return_paths).where(return_paths.c.token == token.lower()[:32])).first()
        return ReturnPathMatch(edition=row.edition, email=row.email) if row else None

    def record(self, email: str, *, edition: str | None, kind: str, status: str | None, source: str,
               ref: str | None, now: datetime) -> bool:
        """Record one bounce (kind hard/soft) or complaint of `email`; False when this report (`ref`) was
        already recorded for this address."""
        try:
            with self._db.write() as conn:
                key = keyed_hash(self._key(conn), email)
                if ref and conn.execute(select(bounce_events.c.id).where(
                        bounce_events.c.ref == ref[:200], bounce_events.c.key_hash == key)).first():
                    return False
                conn.execute(bounce_events.insert().values(
                    key_hash=key, edition=edition, kind=kind, status=(status or None), source=source,
                    at=now, ref=(ref[:200] if ref else None)))
                return True
        except IntegrityError:  # the same report recorded at the same moment by another process
            return False

    def soft_bounces(self, email: str, *, since: datetime) -> int:
        """Soft bounces of `email` recorded at or after `since`."""
        with self._db.read() as conn:
            key = keyed_hash(self._key(conn), email)
            return int(conn.execute(select(func.count()).select_from(bounce_events).where(
                bounce_events.c.key_hash == key, bounce_events.c.kind == "soft",
                bounce_events.c.at >= since)).scalar_one())

    def first_call(self, provider: str, call_id: str, *, now: datetime) -> bool:
        """True the first time (provider, call_id) is seen: a webhook's replay guard."""
        try:
            with self._db.write() as conn:
                if conn.execute(select(webhook_calls.c.call_id).where(
                        webhook_calls.c.provider == provider, webhook_calls.c.call_id == call_id[:200])).first():
                    return False
                conn.execute(webhook_calls.insert().values(provider=provider, call_id=call_id[:200], at=now))
                return True
        except IntegrityError:
            return False

    def health(self, limit: int = 12) -> Iterator[EditionHealth]:
        """Per edition (newest first, sent or sending): what is known of its delivery. Unsubscribes are
        those recorded between its send and the next edition's."""
        with self._db.read() as conn:
            rows = conn.execute(select(editions.c.key, editions.c.sent_at, editions.c.created_at)
                                .where(editions.c.status.in_(("sent", "sending")))
                                .order_by(editions.c.key.desc()).limit(limit)).all()
            next_start: datetime | None = None
            for row in rows:
                yield self._health(conn, row.key, row.sent_at or row.created_at, next_start)
                next_start = row.sent_at or row.created_at

    def _health(self, conn: Connection, key: str, start: datetime, end: datetime | None) -> EditionHealth:
        ledger = {str(r[0]): int(r[1]) for r in conn.execute(
            select(send_ledger.c.state, func.count()).where(send_ledger.c.edition == key).group_by(send_ledger.c.state))}
        kinds = {str(r[0]): int(r[1]) for r in conn.execute(
            select(bounce_events.c.kind, func.count()).where(bounce_events.c.edition == key)
            .group_by(bounce_events.c.kind))}
        window = [subscriber_events.c.new_status == "unsubscribed", subscriber_events.c.at >= start]
        if end is not None:
            window.append(subscriber_events.c.at < end)
        unsubscribes = int(conn.execute(select(func.count()).select_from(subscriber_events)
                                        .where(and_(*window))).scalar_one())
        return EditionHealth(edition=key, sent=int(ledger.get("sent", 0)), failed=int(ledger.get("failed", 0)),
                             hard_bounces=int(kinds.get("hard", 0)), soft_bounces=int(kinds.get("soft", 0)),
                             complaints=int(kinds.get("complaint", 0)), unsubscribes=unsubscribes)
