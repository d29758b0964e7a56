"""The editors' desk in the store (v340+): editor accounts, their login sessions, and the edition log.

- `editors`: one row per editor (the address as typed, normalised; a role; an argon2 hash, never the
  password).
- `desk_sessions`: one row per signed-in browser, keyed by the SHA-256 of the random session id the
  browser holds in its signed cookie, so a copy of the database signs no one in; it expires.
- `edition_log`: who did what to which edition, and when (picks, order, pitches, tests, sends).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Table, Text, select

from feedpipe.core.errors import FeedpipeError
from feedpipe.store.address_syntax import normalize_email
from feedpipe.store.engine import Database
from feedpipe.store.migration import Migration, create_tables
from feedpipe.store.schema import UTCDateTime, metadata

ROLES = ("editor", "admin")

editors = Table(
    "editors",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("role", String(16), nullable=False),  # editor | admin
    Column("password_hash", Text, nullable=False),  # argon2id, with its parameters and salt
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 hex of the id in the cookie
    Column("email", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_desk_sessions_email", desk_sessions.c.email)

edition_log = Table(
    "edition_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # an editor's address, or "cli:<user>"
    Column("action", String(32), nullable=False),  # pick | unpick | order | pitch | test | send
    Column("detail", Text, nullable=False, default=""),
)
Index("ix_edition_log_edition", edition_log.c.edition, edition_log.c.id)

MIGRATIONS = [
    Migration(version=340, name="desk: editors, desk sessions, edition log",
              apply=create_tables(editors, desk_sessions, edition_log)),
]


@dataclass(frozen=True, kw_only=True)
class Editor:
    email: str
    role: str
    password_hash: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    edition: str
    at: datetime
    actor: str
    action: str
    detail: str = ""


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _role(role: str) -> str:
    if role not in ROLES:
        raise FeedpipeError(f"{role!r} is not a role", f"use one of: {', '.join(ROLES)}")
    return role


class EditorRepository:
    """Editor accounts and their sessions. Every method runs in its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, email: str) -> Editor | None:
        try:
            key = normalize_email(email)
        except FeedpipeError:
            return None
        with self._db.read() as conn:
            row = conn.execute(select(editors).where(editors.c.email == key)).first()
        return Editor(**row._mapping) if row else None

    def all(self) -> list[Editor]:
        with self._db.read() as conn:
            return [Editor(**r._mapping) for r in conn.execute(select(editors).order_by(editors.c.email))]

    def add(self, email: str, *, role: str, password_hash: str, now: datetime) -> Editor:
        """A new editor; FeedpipeError when the address is invalid or already an editor."""
        key = normalize_email(email)
        with self._db.write() as conn:
            if conn.execute(select(editors.c.email).where(editors.c.email == key)).first() is not None:
                raise FeedpipeError(f"{key} is already an editor",
                                    "change the password with `feedpipe editors passwd`, or remove it first")
            conn.execute(editors.insert().values(email=key, role=_role(role), password_hash=password_hash,
                                                 created_at=now, updated_at=now))
        return Editor(email=key, role=role, password_hash=password_hash, created_at=now, updated_at=now)

    def set_password(self, email: str, password_hash: str, *, now: datetime) -> bool:
        """Replace the hash; every session of the editor ends."""
        key = normalize_email(email)
        with self._db.write() as conn:
            done = conn.execute(editors.update().where(editors.c.email == key)
                                .values(password_hash=password_hash, updated_at=now)).rowcount == 1
            conn.execute(desk_sessions.delete().where(desk_sessions.c.email == key))
        return done

    def remove(self, email: str) -> bool:
        """Remove the editor and end their sessions."""
        key = normalize_email(email)
        with self._db.write() as conn:
            conn.execute(desk_sessions.delete().where(desk_sessions.c.email == key))
            return conn.execute(editors.delete().where(editors.c.email == key)).rowcount == 1

    # ---- sessions ----------------------------------------------------------------------------------

    def open_session(self, email: str, session_id: str, *, now: datetime, expires_at: datetime) -> None:
        """Record a signed-in browser; sessions already expired are swept at the same time."""
        with self._db.write() as conn:
            conn.execute(desk_sessions.delete().where(desk_sessions.c.expires_at < now))
            conn.execute(desk_sessions.insert().values(id_hash=session_hash(session_id), email=email,
                                                       created_at=now, expires_at=expires_at))

    def session_editor(self, session_id: str, *, now: datetime) -> Editor | None:
        """The editor signed in with this session id, if the session exists and has not expired."""
        with self._db.read() as conn:
            row = conn.execute(
                select(editors).join(desk_sessions, desk_sessions.c.email == editors.c.email)
                .where(desk_sessions.c.id_hash == session_hash(session_id), desk_sessions.c.expires_at > now)
            ).first()
        return Editor(**row._mapping) if row else None

    def close_session(self, session_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(desk_sessions.delete().where(desk_sessions.c.id_hash == session_hash(session_id)))


class EditionLogRepository:
    """The edition log: appended to, never changed."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, edition: str, *, actor: str, action: str, detail: str = "", now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(edition_log.insert().values(edition=edition, at=now, actor=actor, action=action,
                                                     detail=detail))

    def entries(self, edition: str | None = None) -> list[LogEntry]:
        """Oldest first; one edition's, or every edition's."""
        query = select(edition_log).order_by(edition_log.c.id)
        if edition is not None:
            query = query.where(edition_log.c.edition == edition)
        with self._db.read() as conn:
            return [LogEntry(edition=r.edition, at=r.at, actor=r.actor, action=r.action, detail=r.detail or "")
                    for r in conn.execute(query)]
