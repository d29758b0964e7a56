"""How mail leaves: an SMTP sender and an `.eml` outbox folder behind one `Transport` interface.

A transport sends one message at a time and tells the caller what happened by what it raises:
nothing (accepted), `TemporaryFailure` (4xx or no connection: not delivered, may be retried),
`PermanentFailure` (5xx: not delivered, do not retry), or `UncertainDelivery` (the connection was lost
after the message was handed over and before the server answered: it may have been delivered, so it
must not be resent blindly). The exactly-once bookkeeping is the send ledger's job (digest/send.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from feedpipe.core.address import mail_address
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import MailSettings
from feedpipe.files import write_file
from feedpipe.mail_wire import Outgoing


class SendError(FeedpipeError):
    def __init__(self, message: str, hint: str = "", *, code: int | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class TemporaryFailure(SendError):
    """Not delivered; trying again later may work (4xx, connection refused or dropped before DATA)."""


class ConnectionFailure(TemporaryFailure):
    """The server could not be reached or greeted us with an error: nothing can be sent right now."""


class PermanentFailure(SendError):
    """Not delivered and will not be (5xx): the address is refused or the message rejected."""


class UncertainDelivery(SendError):
    """The message was handed over but the answer never came: it may or may not have been delivered."""


class TransportSetupError(FeedpipeError):
    """The transport is misconfigured (bad credentials, TLS refused): stop, nothing will get through."""


class Transport(Protocol):
    def send(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str) -> None:
        """Send one message (wire bytes, CRLF line ends); raise a SendError subclass when it was not accepted."""

    def close(self) -> None:
        """Release the connection (if any); the transport may be used again afterwards."""

MAIL_FILE_MODE = 0o600


def _eml_name(message_id: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", message_id.strip("<>"))[:60]
    return f"{readable}-{hashlib.sha256(message_id.encode()).hexdigest()[:8]}.eml"


class OutboxTransport:
    """Writes each message to `<folder>/<message id>.eml` with the one atomic writer (feedpipe.files), so
    a reader never sees half a file; the same message id overwrites, it never duplicates. The files are
    private (0600): they carry subscribers' addresses and personal links."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.sent = 0

    def send(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str) -> None:
        try:
            write_file(self.folder / _eml_name(message_id), message, mode=MAIL_FILE_MODE)
        except OSError as exc:
            raise ConnectionFailure(
                f"cannot write to the outbox {self.folder}: {exc}", "check that [mail] outbox is a writable folder"
            ) from exc
        self.sent += 1

    def close(self) -> None:
        pass


def classify(code: int, reply: bytes | str, what: str) -> SendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{what}: {code} {text}".strip()
    if 400 <= code < 500:
        return TemporaryFailure(message, "the server asks to try again later", code=code)
    return PermanentFailure(message, "the server refused it; check the address or the message", code=code)


class SmtpTransport:
    """SMTP with STARTTLS (`security="starttls"`), implicit TLS (`"tls"`) or none, optional login, one
    connection reused for every message, and a rate limit (messages per second, 0 = none).

    The message goes over the wire in steps (MAIL, RCPT, DATA, body) so that a failure is classified by
    where it happened: before the body is sent it is temporary (nothing was delivered), after it and
    before the server's answer it is uncertain.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        rate_per_second: float = 0.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"security must be starttls, tls or none, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.timeout = timeout
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.local_hostname = local_hostname
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._sleep, self._clock = sleep, clock
        self._conn: smtplib.SMTP | None = None
        self._last_send: float | None = None
        self._awaiting = False  # a message was sent and its answer not read yet
        self._next: Outgoing | None = None  # the message `prepare` made ready
        self.connections = 0  # how many connections were opened (one, unless the server dropped us)
        self.sent = 0

    # -- connection --------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        try:
            conn: smtplib.SMTP
            if self.security == "tls":
                conn = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                        timeout=self.timeout, context=self.ssl_context)
            else:
                conn = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
            _no_delay(conn)
            conn.ehlo()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise TransportSetupError(
                        f"{self.host}:{self.port} does not offer STARTTLS",
                        'set [mail] security = "tls" (port 465) or, for a local relay only, "none"',
                    )
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if self.username:
                self._login(conn, self.username)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportSetupError(
                f"{self.host}: login as {self.username} refused ({exc.smtp_code})",
                "check [mail] username and the password in the environment variable named by password_env",
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportSetupError(f"{self.host}:{self.port}: {exc}",
                                      "the server offers no login here: check [mail] security, or drop username") from exc
        except ssl.SSLError as exc:
            raise TransportSetupError(f"{self.host}:{self.port}: TLS failed: {exc}",
                                      "check [mail] security and port (starttls: 587, tls: 465)") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailure(f"cannot connect to {self.host}:{self.port}: {exc}",
                                    "check that the SMTP server is up and [mail] host/port") from exc
        self.connections += 1
        return conn

    def _login(self, conn: smtplib.SMTP, username: str) -> None:
        """AUTH PLAIN when offered (one round trip, over TLS), else whatever smtplib finds."""
        offered = (conn.esmtp_features.get("auth") or "").upper().split()
        if "PLAIN" in offered:
            conn.user, conn.password = username, self._password or ""
            conn.auth("PLAIN", conn.auth_plain)
        else:
            conn.login(username, self._password or "")

    def _drop(self) -> None:
        self._awaiting = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        if self._awaiting:  # never leave an answer unread on a connection we mean to QUIT
            self._drop()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.quit()
        self._drop()

    def _throttle(self) -> None:
        if self.interval and self._last_send is not None:
            wait = self._last_send + self.interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_send = self._clock()

    # -- sending -----------------------------------------------------------------------------

    def send(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str) -> None:
        self.start(message, sender=sender, recipients=recipients, message_id=message_id)
        self.finish()

    def prepare(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> None:
        """Optional, before `start`: do the work a message needs before it can go out (its DATA block,
        dot-stuffed; the envelope's checks) now, typically while the server still works on the message
        in flight, so that `start` of this same message only talks to the server."""
        self._next = Outgoing.of(message, (sender, *recipients))

    def start(self, message: bytes, *, sender: str, recipients: Sequence[str], message_id: str,
              on_start: Callable[[], bool] | None = None) -> bool:
        """First half of `send`: envelope and body go out; the server's answer is read by `finish`, so
        the caller can prepare the next message while the server works on this one.

        `on_start` is called once MAIL and RCPT are accepted and the DATA command is on its way, while
        the server answers it, just before the body, the first byte that can deliver anything: the
        caller records there that the message is going out (its write overlaps the server's turn). If it
        returns False (or raises) the transaction is abandoned (the connection is dropped before any
        body, so the server delivers nothing) and `start` returns False; otherwise True."""
        if self._awaiting:
            raise RuntimeError("finish() the message in flight before starting another")
        out, self._next = self._next, None
        if out is None or out.message is not message:
            out = Outgoing.of(message, (sender, *recipients))
        self._throttle()
        reused = self._conn is not None
        try:
            go = self._envelope(out, sender, recipients, on_start)
        except _Dropped as exc:
            if not reused:
                raise TemporaryFailure(f"connection lost before the message was sent: {exc}") from exc
            try:
                go = self._envelope(out, sender, recipients, on_start)  # the idle connection had gone; one fresh try
            except _Dropped as again:
                raise TemporaryFailure(f"connection lost before the message was sent: {again}") from again
        if not go:
            return False
        conn = self._conn
        assert conn is not None
        self._awaiting = True
        try:  # the point of no return: from here a lost connection leaves the outcome unknown
            conn.send(out.block)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._awaiting = False
            self._drop()
            raise self._uncertain(exc) from exc
        return True

    def finish(self) -> None:
        """Second half of `send`: the server's answer to the message `start` sent."""
        if not self._awaiting:
            return
        self._awaiting = False
        conn = self._conn
        try:
            if conn is None:
                raise smtplib.SMTPServerDisconnected("connection closed")
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise self._uncertain(exc) from exc
        if code != 250:
            self._reset()
            raise classify(code, reply, "message refused")
        self.sent += 1

    @staticmethod
    def _uncertain(exc: Exception) -> UncertainDelivery:
        return UncertainDelivery(
            f"connection lost after the message was sent, before the server answered: {exc}",
            "check the recipient's mailbox or the server log, then `feedpipe digest resolve`",
        )

    def _envelope(self, out: Outgoing, sender: str, recipients: Sequence[str],
                  on_start: Callable[[], bool] | None) -> bool:
        """MAIL FROM, RCPT TO, DATA up to the 354 answer, with `on_start` called while the server answers
        DATA; False: `on_start` declined and the connection was dropped. Raises _Dropped if the
        connection goes.

        Addresses go out as mail systems see them (feedpipe.core.address): an internationalised domain
        IDNA-encoded, a non-ASCII local part only over SMTPUTF8. A recipient this server cannot take is
        refused here, permanently and with the reason, before anything is sent."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        smtputf8 = bool(conn.has_extn("smtputf8"))
        wire_sender, wire_rcpts, refused = self._wire_addresses(sender, recipients, smtputf8)
        utf8 = out.head_utf8 or not all(a.isascii() for a in (wire_sender, *wire_rcpts))
        if utf8 and not smtputf8:
            raise PermanentFailure(
                f"not sent to {', '.join(recipients)}: the headers carry UTF-8 and "
                f"{self.host} does not offer SMTPUTF8", _NO_SMTPUTF8_HINT)
        mail_cmd = f"FROM:{out.quote(wire_sender)}"
        if utf8:
            mail_cmd += " SMTPUTF8" + (" BODY=8BITMIME" if conn.has_extn("8bitmime") else "")
            conn.command_encoding = "utf-8"  # as smtplib's mail() does for SMTPUTF8
        try:  # the commands as smtplib's mail() and rcpt() write them, the addresses quoted beforehand
            conn.putcmd("mail", mail_cmd)
            code, reply = conn.getreply()
            if code != 250:
                self._reset()
                raise classify(code, reply, f"sender {sender} refused")
            accepted = []
            for rcpt in wire_rcpts:
                conn.putcmd("rcpt", f"TO:{out.quote(rcpt)}")
                code, reply = conn.getreply()
                if code in (250, 251):
                    accepted.append(rcpt)
                else:
                    refused = classify(code, reply, f"recipient {rcpt} refused")
            if not accepted:
                self._reset()
                raise refused or PermanentFailure("no recipients")
            conn.putcmd("data")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise _Dropped(str(exc)) from exc
        go = False
        try:  # the caller's record that the message is going out, written while the server answers DATA
            go = on_start() if on_start is not None else True
        finally:
            if not go:
                self._drop()  # DATA unanswered, no body: the server delivers nothing
        if not go:
            return False
        try:
            code, reply = conn.getreply()
            if code != 354:
                self._reset()
                raise classify(code, reply, "DATA refused")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise _Dropped(str(exc)) from exc
        return True

    def _wire_addresses(self, sender: str, recipients: Sequence[str],
                        smtputf8: bool) -> tuple[str, list[str], SendError | None]:
        """(MAIL FROM address, RCPT TO addresses, the refusal of those this server cannot take)."""
        wire_sender = mail_address(sender).for_envelope(smtputf8)
        if wire_sender is None:
            raise TransportSetupError(f"the sender {sender} has a non-ASCII local part and {self.host} does not "
                                      "offer SMTPUTF8", "use an ASCII From address in [digest] from_address")
        wire_rcpts: list[str] = []
        refused: SendError | None = None
        for rcpt in recipients:
            wire = mail_address(rcpt).for_envelope(smtputf8)
            if wire is None:
                refused = PermanentFailure(f"recipient {rcpt} not sent: its local part is not ASCII and "
                                           f"{self.host} does not offer SMTPUTF8", _NO_SMTPUTF8_HINT)
            else:
                wire_rcpts.append(wire)
        if not wire_rcpts:
            assert refused is not None
            raise refused
        return wire_sender, wire_rcpts, refused

    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()


def _no_delay(conn: smtplib.SMTP) -> None:
    """Commands are small writes that wait for an answer: Nagle's algorithm only delays them."""
    if conn.sock is None:
        return
    with contextlib.suppress(Exception):
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_NO_SMTPUTF8_HINT = "send through a server that offers SMTPUTF8 (RFC 6531), or ask the subscriber for an ASCII address"


class _Dropped(Exception):
    pass


def make_transport(mail_settings: MailSettings, *, sleep: Callable[[float], None] = time.sleep) -> Transport:
    """The transport `[mail]` asks for: the outbox folder (default) or SMTP with the password taken from
    the environment variable named by `password_env`."""
    if mail_settings.transport == "smtp":
        return SmtpTransport(
            mail_settings.host,
            mail_settings.port,
            security=mail_settings.security,
            username=mail_settings.username,
            password=mail_settings.password(),
            timeout=mail_settings.timeout,
            rate_per_second=mail_settings.rate_per_second,
            local_hostname=mail_settings.local_hostname,
            sleep=sleep,
        )
    return OutboxTransport(mail_settings.outbox)
