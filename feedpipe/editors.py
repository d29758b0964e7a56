"""Editor accounts for the editors' desk: passwords (argon2id, through argon2-cffi), sign-in and sessions.

`feedpipe editors ...` and the desk's login page both come here: one place hashes and checks passwords.
A wrong address and a wrong password cost the same work (a dummy hash is checked for unknown addresses)
and get the same answer (None), so the login page cannot tell anyone who is an editor.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from feedpipe.core.errors import FeedpipeError
from feedpipe.store.desk import ROLES, Editor

PASSWORD_MIN = 10
PASSWORD_MAX = 1024
SESSION_LIFETIME = timedelta(hours=12)
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked for an unknown address, so that it costs what a wrong password costs. Made on first use:
    hashing takes ~0.4 s, which every other command (ingest from cron) would pay at import."""
    return _HASHER.hash("feedpipe: no such editor")


class EditorAccounts(Protocol):
    """The store's editor repository (`feedpipe.store.desk.EditorRepository`)."""

    def get(self, email: str) -> Editor | None: ...

    def all(self) -> list[Editor]: ...

    def add(self, email: str, *, role: str, password_hash: str, now: datetime) -> Editor: ...

    def set_password(self, email: str, password_hash: str, *, now: datetime) -> bool: ...

    def remove(self, email: str) -> bool: ...

    def open_session(self, email: str, session_id: str, *, now: datetime, expires_at: datetime) -> None: ...

    def session_editor(self, session_id: str, *, now: datetime) -> Editor | None: ...

    def close_session(self, session_id: str) -> None: ...


def check_password(password: str) -> str:
    """The password if it is acceptable; FeedpipeError saying what is wrong otherwise."""
    if len(password) < PASSWORD_MIN:
        raise FeedpipeError(f"the password is too short ({len(password)} characters)",
                            f"use at least {PASSWORD_MIN} characters; a few unrelated words make a good one")
    if len(password) > PASSWORD_MAX:
        raise FeedpipeError("the password is too long", f"use at most {PASSWORD_MAX} characters")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def add_editor(accounts: EditorAccounts, email: str, password: str, *, role: str, now: datetime) -> Editor:
    if role not in ROLES:
        raise FeedpipeError(f"{role!r} is not a role", f"use one of: {', '.join(ROLES)}")
    return accounts.add(email, role=role, password_hash=hash_password(password), now=now)


def change_password(accounts: EditorAccounts, email: str, password: str, *, now: datetime) -> None:
    if not accounts.set_password(email, hash_password(password), now=now):
        raise FeedpipeError(f"{email} is not an editor", "see `feedpipe editors list`")


def authenticate(accounts: EditorAccounts, email: str, password: str, *, now: datetime) -> Editor | None:
    """The editor when the address and password match, else None (the same for either mistake).
    A hash made with older parameters is replaced by one with the current parameters."""
    editor = accounts.get(email) if email else None
    try:
        _HASHER.verify(editor.password_hash if editor else _dummy_hash(), password[:PASSWORD_MAX])
    except (VerificationError, InvalidHashError):
        return None
    if editor is None:
        return None
    if _HASHER.check_needs_rehash(editor.password_hash):
        accounts.set_password(editor.email, _HASHER.hash(password), now=now)
    return editor


def open_session(accounts: EditorAccounts, editor: Editor, *, now: datetime,
                 lifetime: timedelta = SESSION_LIFETIME) -> str:
    """A new session for `editor`; returns its id (the browser keeps it in the signed session cookie)."""
    session_id = secrets.token_urlsafe(32)
    accounts.open_session(editor.email, session_id, now=now, expires_at=now + lifetime)
    return session_id
