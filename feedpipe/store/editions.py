"""Editions of the digest (building → sending → sent/skipped, with a sender's lease) and the
editor's picks for each.

State changes that decide who gets mail (claiming an edition) are compare-and-set updates in a write
transaction: the row moves only from the state the caller expects, and the caller learns whether it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Edition, Pick
from feedpipe.store.digest_schema import editions, picks
from feedpipe.store.engine import Database
from feedpipe.store.leases import holder_is_dead


def edition_from_row(row: Row[*tuple[Any, ...]]) -> Edition:
    return Edition(**row._mapping)


class EditionRepository:
    """Editions and their picks. Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> Edition | None:
        with self._db.read() as conn:
            row = conn.execute(select(editions).where(editions.c.key == key)).first()
        return edition_from_row(row) if row else None

    def all(self, status: str | None = None) -> list[Edition]:
        """Editions, newest key first."""
        query = select(editions).order_by(editions.c.key.desc())
        if status is not None:
            query = query.where(editions.c.status == status)
        with self._db.read() as conn:
            return [edition_from_row(r) for r in conn.execute(query)]

    def ensure(
        self, key: str, *, window_start: datetime | None, window_end: datetime | None, now: datetime
    ) -> Edition:
        """The edition `key`, created as "building" with this window when absent; a building edition
        gets its window updated, a sending or sent one is left as it is."""
        with self._db.write() as conn:
            row = conn.execute(select(editions).where(editions.c.key == key)).first()
            if row is None:
                conn.execute(
                    editions.insert().values(
                        key=key,
                        status="building",
                        window_start=window_start,
                        window_end=window_end,
                        created_at=now,
                    )
                )
            elif row.status == "building":
                conn.execute(
                    editions.update()
                    .where(editions.c.key == key)
                    .values(window_start=window_start, window_end=window_end)
                )
            return edition_from_row(conn.execute(select(editions).where(editions.c.key == key)).one())

    def claim(
        self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10), holder: str | None = None
    ) -> bool:
        """Atomically take the right to send `key`: True for exactly one caller.

        A building edition (or one not yet stored) becomes "sending" with a lease until now + lease,
        held by `holder` (host:pid:random, `leases.make_holder`). A sending edition whose lease has
        expired, or whose holder is a dead process of this host (`leases.holder_is_dead`), can be taken
        over; a live lease (or one held on another host, until it expires), or a sent/skipped edition,
        gives False.
        """
        try:
            with self._db.write() as conn:
                if conn.execute(select(editions.c.key).where(editions.c.key == key)).first() is None:
                    conn.execute(
                        editions.insert().values(
                            key=key, status="sending", created_at=now, lease_until=now + lease, holder=holder
                        )
                    )
                    return True
        except IntegrityError:  # PostgreSQL: another process inserted it first, and so holds the claim
            return False
        with self._db.write() as conn:
            row = conn.execute(
                select(editions.c.status, editions.c.lease_until, editions.c.holder).where(editions.c.key == key)
            ).one()
            may = or_(
                editions.c.status == "building",
                and_(
                    editions.c.status == "sending",
                    or_(editions.c.lease_until.is_(None), editions.c.lease_until < now),
                ),
            )
            if row.status == "sending" and row.holder is not None and holder_is_dead(row.holder):
                may = or_(may, and_(editions.c.status == "sending", editions.c.holder == row.holder))
            done = conn.execute(
                editions.update()
                .where(editions.c.key == key, may)
                .values(status="sending", lease_until=now + lease, holder=holder)
            )
            return done.rowcount == 1

    def renew(
        self, key: str, now: datetime, *, lease: timedelta = timedelta(minutes=10), holder: str | None = None
    ) -> bool:
        """Extend the send lease; with `holder`, only while that holder still has it (False: it was
        taken over, stop sending)."""
        query = editions.update().where(editions.c.key == key, editions.c.status == "sending")
        if holder is not None:
            query = query.where(editions.c.holder == holder)
        with self._db.write() as conn:
            return conn.execute(query.values(lease_until=now + lease)).rowcount == 1

    def release(self, key: str, holder: str | None = None) -> None:
        """Give up the lease of a sending edition (an aborted run) so that the next run may resume it;
        with `holder`, only if that holder still has it."""
        query = editions.update().where(editions.c.key == key, editions.c.status == "sending")
        if holder is not None:
            query = query.where(editions.c.holder == holder)
        with self._db.write() as conn:
            conn.execute(query.values(lease_until=None, holder=None))

    def finish(self, key: str, status: str, *, now: datetime, subject: str | None = None) -> None:
        """Mark an edition sent or skipped (final: due_edition will not offer it again)."""
        if status not in ("sent", "skipped"):
            raise ValueError(f"editions.finish: status must be sent or skipped, not {status!r}")
        with self._db.write() as conn:
            if conn.execute(select(editions.c.key).where(editions.c.key == key)).first() is None:
                conn.execute(editions.insert().values(key=key, status=status, created_at=now))
            values: dict[str, Any] = {"status": status, "sent_at": now, "lease_until": None, "holder": None}
            if subject is not None:
                values["subject"] = subject
            conn.execute(editions.update().where(editions.c.key == key).values(**values))

    def set_subject(self, key: str, subject: str) -> None:
        with self._db.write() as conn:
            conn.execute(editions.update().where(editions.c.key == key).values(subject=subject))

    # ---- editor's picks ----------------------------------------------------------------------

    def pick(self, edition: str, article_id: str, pitch: str | None = None) -> Pick:
        """Add an article to the edition's picks (at the end), or update the pitch of one already picked."""
        with self._db.write() as conn:
            row = conn.execute(
                select(picks).where(picks.c.edition == edition, picks.c.article_id == article_id)
            ).first()
            if row is not None:
                if pitch is not None:
                    conn.execute(
                        picks.update()
                        .where(picks.c.edition == edition, picks.c.article_id == article_id)
                        .values(pitch=pitch)
                    )
                return Pick(
                    edition=edition,
                    article_id=article_id,
                    position=row.position,
                    pitch=pitch if pitch is not None else row.pitch,
                )
            last = conn.execute(select(func.max(picks.c.position)).where(picks.c.edition == edition)).scalar()
            position = 0 if last is None else last + 1
            conn.execute(
                picks.insert().values(edition=edition, article_id=article_id, position=position, pitch=pitch)
            )
            return Pick(edition=edition, article_id=article_id, position=position, pitch=pitch)

    def unpick(self, edition: str, article_id: str) -> bool:
        with self._db.write() as conn:
            return (
                conn.execute(
                    picks.delete().where(picks.c.edition == edition, picks.c.article_id == article_id)
                ).rowcount
                == 1
            )

    def order(self, edition: str, article_ids: Iterable[str]) -> list[Pick]:
        """Put these picks first, in this order; the others follow in their old order."""
        wanted = list(dict.fromkeys(article_ids))
        with self._db.write() as conn:
            current = [
                r.article_id
                for r in conn.execute(
                    select(picks.c.article_id).where(picks.c.edition == edition).order_by(picks.c.position)
                )
            ]
            unknown = [a for a in wanted if a not in current]
            if unknown:
                raise FeedpipeError(
                    f"not picked for {edition}: {', '.join(unknown)}",
                    "pick them first with `feedpipe digest pick URL`",
                )
            new_order = wanted + [a for a in current if a not in wanted]
            for position, article_id in enumerate(new_order):
                conn.execute(
                    picks.update()
                    .where(picks.c.edition == edition, picks.c.article_id == article_id)
                    .values(position=position)
                )
        return self.picks(edition)

    def picks(self, edition: str) -> list[Pick]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(picks).where(picks.c.edition == edition).order_by(picks.c.position)
            ).all()
        return [
            Pick(edition=r.edition, article_id=r.article_id, position=r.position, pitch=r.pitch) for r in rows
        ]
