"""The bounce mailbox (an adapter): IMAP over TLS, or a local Maildir, behind one small Protocol.

A message that was counted (a bounce or a complaint) is moved to `processed_folder` or deleted; any
other message (an auto-reply, a person's answer) is moved to `others_folder` or left where it is,
unread (IMAP: fetched with BODY.PEEK, so its \\Seen flag does not change).
"""

from __future__ import annotations

import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import BounceSettings

MAX_MESSAGE_BYTES = 2_000_000  # a report is small; the rest of a larger message is not read
MAX_MESSAGES = 2_000  # per run: a flooded mailbox is worked through over several runs
_UID = re.compile(rb"UID (\d+)")


class Mailbox(Protocol):
    def messages(self) -> Iterator[tuple[str, bytes]]:
        """(id, bytes) of each message waiting, oldest first."""
        ...

    def processed(self, ident: str) -> None:
        """The message was counted: move it to the processed folder, or delete it."""
        ...

    def set_aside(self, ident: str) -> None:
        """The message is not a report: move it to the others folder, or leave it."""
        ...

    def close(self) -> None: ...


class _Folders:
    """What both mailboxes do with a message once it is read; each moves (or deletes) it its own way."""

    processed_folder: str | None
    others_folder: str | None

    def _move(self, ident: str, folder: str | None) -> None:
        raise NotImplementedError

    def processed(self, ident: str) -> None:
        self._move(ident, self.processed_folder)

    def set_aside(self, ident: str) -> None:
        if self.others_folder is not None:
            self._move(ident, self.others_folder)


class MaildirMailbox(_Folders):
    """A local Maildir (its `new` and `cur`); folders are Maildir++ sub-folders (`.Processed`)."""

    def __init__(self, path: Path, *, processed_folder: str | None = None, others_folder: str | None = None) -> None:
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise FeedpipeError(f"{path}: not a Maildir (no cur/ or new/ folder)",
                                "set [bounces] maildir to the folder that holds cur/, new/ and tmp/")
        self.box = mailbox.Maildir(path, create=False)
        self.processed_folder, self.others_folder = processed_folder, others_folder

    def messages(self) -> Iterator[tuple[str, bytes]]:
        keys = sorted(self.box.keys())[:MAX_MESSAGES]
        for key in keys:
            try:
                yield key, self.box.get_bytes(key)[:MAX_MESSAGE_BYTES]
            except KeyError:  # taken by another reader meanwhile
                continue

    def _move(self, key: str, folder: str | None) -> None:
        if folder is not None:
            try:
                target = self.box.get_folder(folder)
            except mailbox.NoSuchMailboxError:
                target = self.box.add_folder(folder)
            target.add(self.box.get_bytes(key))
        self.box.discard(key)

    def close(self) -> None:
        self.box.close()


class ImapMailbox(_Folders):
    """One IMAP folder over TLS (IMAPS or STARTTLS, certificates verified); the password comes from the
    environment (`BounceSettings.password`)."""

    def __init__(self, settings: BounceSettings, *, timeout: float = 30.0) -> None:
        assert settings.imap_host is not None
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        where = f"{settings.imap_host}:{settings.imap_port}"
        try:
            if settings.imap_security == "starttls":
                self.imap: imaplib.IMAP4 = imaplib.IMAP4(settings.imap_host, settings.imap_port, timeout=timeout)
                self.imap.starttls(ssl_context=context)
            else:
                self.imap = imaplib.IMAP4_SSL(settings.imap_host, settings.imap_port, ssl_context=context,
                                              timeout=timeout)
            self.imap.login(settings.imap_user or "", settings.password())
            status, _ = self.imap.select(_quote(settings.imap_folder))
        except (OSError, imaplib.IMAP4.error) as exc:
            raise FeedpipeError(f"bounce mailbox {where}: {exc}",
                                "check [bounces] imap_host, imap_port, imap_user, the password variable and "
                                "ca_file") from exc
        if status != "OK":
            raise FeedpipeError(f"bounce mailbox {where}: no folder {settings.imap_folder!r}",
                                "set [bounces] imap_folder to an existing folder")
        self.processed_folder, self.others_folder = settings.processed_folder, settings.others_folder
        self._made: set[str] = set()

    def messages(self) -> Iterator[tuple[str, bytes]]:
        status, data = self.imap.uid("SEARCH", "UNDELETED")
        if status != "OK" or not data or not data[0]:
            return
        for uid in data[0].split()[:MAX_MESSAGES]:
            status, parts = self.imap.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)")
            for part in parts or []:
                if isinstance(part, tuple) and len(part) == 2:
                    yield uid.decode("ascii"), bytes(part[1])
                    break

    def _folder(self, name: str) -> None:
        if name not in self._made:
            self.imap.create(_quote(name))  # "already exists" is fine
            self._made.add(name)

    def _move(self, uid: str, folder: str | None) -> None:
        if folder is not None:
            self._folder(folder)
            status, _ = self.imap.uid("COPY", uid, _quote(folder))
            if status != "OK":
                raise FeedpipeError(f"bounce mailbox: cannot copy a message to {folder!r}",
                                    "check that the IMAP account may create and write that folder")
        self.imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")

    def close(self) -> None:
        try:
            self.imap.expunge()
            self.imap.close()
            self.imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_mailbox(settings: BounceSettings, *, maildir: Path | None = None) -> Mailbox:
    """The configured mailbox (`maildir` overrides the config), or a FeedpipeError saying what to set."""
    path = maildir or settings.maildir
    if path is not None:
        return MaildirMailbox(path, processed_folder=settings.processed_folder, others_folder=settings.others_folder)
    if settings.imap_host:
        return ImapMailbox(settings)
    raise FeedpipeError("no bounce mailbox is configured",
                        "set [bounces] imap_host (and imap_user, password in FEEDPIPE_BOUNCES_PASSWORD) or "
                        "[bounces] maildir, or pass --maildir")
