"""Per-source state: validators for conditional GET, last fetch, status, error, counts, and the
run of consecutive failures that backs a source off and, at a threshold, pauses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from feedpipe.store.engine import Database
from feedpipe.store.schema import articles, sources


@dataclass(frozen=True, kw_only=True)
class SourceState:
    name: str
    kind: str
    location: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    status: str | None = None
    error: str | None = None
    retry_after_until: datetime | None = None
    ttl_minutes: int | None = None
    last_new: int = 0
    last_updated: int = 0
    last_unchanged: int = 0
    last_failed: int = 0
    total_articles: int = 0
    failures: int = 0  # consecutive failed fetches; 0 after a success or a resume
    paused_at: datetime | None = None  # set when `failures` reached the threshold; cleared by resume

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


class SourceRepository:
    """Per-source fetch state. Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def state(self, name: str) -> SourceState | None:
        with self._db.read() as conn:
            row = conn.execute(select(sources).where(sources.c.name == name)).first()
        return SourceState(**row._mapping) if row else None

    def states(self) -> list[SourceState]:
        with self._db.read() as conn:
            return [SourceState(**r._mapping) for r in conn.execute(select(sources).order_by(sources.c.name))]

    def record_fetch(
        self,
        *,
        name: str,
        kind: str,
        location: str,
        now: datetime,
        status: str,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        retry_after_until: datetime | None = None,
        ttl_minutes: int | None = None,
        new: int = 0,
        updated: int = 0,
        unchanged: int = 0,
        failed: int = 0,
        pause_after: int = 0,
    ) -> SourceState:
        """Record one fetch of a source and return its new state. Only a full answer ("ok") replaces
        the stored validators and ttl; an error or a 304 keeps them, so the next conditional GET
        still works. An "error" adds one to the source's consecutive failures (a new location starts
        again from one), anything else resets them; when they reach `pause_after` (0: never) the
        source is paused: status "paused", `error` says why, until `resume`."""
        with self._db.write() as conn:
            old = conn.execute(select(sources).where(sources.c.name == name)).first()
            failures = 0
            if status == "error":
                failures = 1 + (old.failures if old is not None and old.location == location else 0)
            paused = 0 < pause_after <= failures
            total: int = conn.execute(
                select(func.count()).select_from(articles).where(articles.c.source == name)
            ).scalar_one()
            values: dict[str, object] = {
                "kind": kind,
                "location": location,
                "last_fetch_at": now,
                "status": status,
                "error": error,
                "retry_after_until": retry_after_until,
                "last_new": new,
                "last_updated": updated,
                "last_unchanged": unchanged,
                "last_failed": failed,
                "total_articles": total,
                "failures": failures,
                "paused_at": now if paused else None,
            }
            if paused:
                values["status"] = "paused"
                values["error"] = (f"paused after {failures} consecutive failures, the last: {error}; "
                                   f"resume with `feedpipe sources --resume {name}`")
            if status in ("ok", "not-modified"):
                values["last_success_at"] = now
            if status == "ok":
                values["etag"] = etag
                values["last_modified"] = last_modified
                values["ttl_minutes"] = ttl_minutes
            if old is None:
                conn.execute(sources.insert().values(name=name, **values))
            else:
                conn.execute(sources.update().where(sources.c.name == name).values(**values))
        # The row as it now reads back (every column not written keeps its stored value or, new, none;
        # datetimes come back in UTC), without reading it back: one statement less per source and run.
        stored = dict(old._mapping) if old is not None else {}
        stored.update({k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}, name=name)
        return SourceState(**stored)

    def resume(self, name: str) -> SourceState | None:
        """Forget a source's failures and lift its pause: it is due at the next run (status
        "resumed"), though never before a server's Retry-After. None when the store has never seen
        the source."""
        with self._db.write() as conn:
            old = conn.execute(select(sources).where(sources.c.name == name)).first()
            if old is None:
                return None
            values: dict[str, object] = {"failures": 0, "paused_at": None}
            if old.paused_at is not None or old.failures:
                values.update(status="resumed", error=None)
            conn.execute(sources.update().where(sources.c.name == name).values(**values))
            row = conn.execute(select(sources).where(sources.c.name == name)).one()
        return SourceState(**row._mapping)
