"""Build one digest email: multipart/alternative (text/plain first, text/html last), UTF-8, with the
list headers of RFC 2369 / RFC 8058.

The wire bytes are put together here directly (headers cleaned and RFC 2047-encoded by the standard
library's helpers, bodies quoted-printable by binascii), because the email package's policy machinery
costs several milliseconds a message and a send is meant to keep pace with raw SMTP. `build_message`
parses those bytes back for callers that want an `EmailMessage`.

Headers are built from values, never from text: every value is cleaned (`core.text.one_line`) before it
is used, so none may carry CR, LF or any other control character from article text (CVE-2024-6923: a
headline with "\\r\\nBcc: x@evil" must not become a header of its own); text that looks like an RFC 2047
encoded-word ("=?UTF-8?Q?...=0D=0A...?=") is encoded as text, so a reader decodes it to exactly the
characters it was, never to a line break; names go through `email.headerregistry.Address`. Every header
line is checked once more before the message is returned.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import message_from_bytes
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from feedpipe.core.address import mail_address
from feedpipe.core.model import Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.core.text import one_line
from feedpipe.digest.render import Links, Rendered

# refold_source="none": the lines written here are already folded; a Python without the CVE-2024-6923 fix
# would decode an encoded-word while refolding a parsed header and write the decoded text back as it is.
POLICY = SMTP.clone(max_line_length=78, refold_source="none")


class HeaderInjection(ValueError):
    """A header value still held a line break after cleaning: refuse to build the message."""


def header_value(value: str | None, *, limit: int = 400) -> str:
    """A value fit for a header: one line, no control characters, bounded length."""
    return one_line(value)[:limit]


@lru_cache(maxsize=64)
def address_domain(address: str) -> str:
    _, addr = parseaddr(header_value(address))
    return addr.rpartition("@")[2].lower() or "localhost"


def message_id(edition: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message has the same id."""
    digest = hashlib.sha256(f"{edition}\x1f{email.lower()}".encode()).hexdigest()[:24]
    return f"<{edition}.{digest}@{domain}>"


def list_id(settings: DigestSettings) -> str:
    """RFC 2919 `List-Id`: the title as a phrase (quoted, or encoded when it must be), then `<list id>`."""
    domain = address_domain(settings.from_address)
    ident = settings.list_id or f"weekly.{domain}"
    title = header_value(settings.title)
    if not _plain(title):
        return _encoded(title, ident)
    bare = title.replace("\\", "").replace('"', "")
    return f'"{bare}" <{ident}>'


def _plain(value: str) -> bool:
    """ASCII text a reader takes as it stands: nothing in it would be decoded as an encoded-word."""
    return value.isascii() and "=?" not in value


def mailbox(name: str | None, addr: str) -> str:
    """An address header value built from a display name and an address: the name is cleaned, then
    formatted by `email.headerregistry.Address` (quoted where needed), or RFC 2047-encoded as a whole when
    it is not ASCII or holds an encoded-word, so it decodes to exactly the cleaned name. (Local part and
    domain are handed over apart: parsing `addr_spec` would cost ten times the rest of the header.)"""
    name, addr = header_value(name, limit=100), header_value(addr, limit=320)
    if not name:
        return addr
    local, at, domain = addr.rpartition("@")
    address = Address(display_name=name, username=local if at else addr, domain=domain if at else "")
    return str(address) if _plain(name) else _encoded(name, address.addr_spec)


def _encoded(name: str, addr: str) -> str:
    """`=?utf-8?...?= <addr>`: one encoded-word when it fits in 75 characters (RFC 2047 readers join
    adjacent encoded-words, Python's parser puts a space between them), folded before the address when the
    line would pass 78."""
    words = Header(name, "utf-8").encode(maxlinelen=998)
    if len(words) > 75:
        words = Header(name, "utf-8", header_name="Reply-To").encode(maxlinelen=78, linesep="\r\n")
    last_line = words.rpartition("\r\n")[2] if "\r\n" in words else f"Reply-To: {words}"
    fold = " " if len(last_line) + len(addr) + 3 <= 78 else "\r\n "
    return f"{words}{fold}<{addr}>"


@lru_cache(maxsize=64)
def _address(value: str) -> str:
    name, addr = parseaddr(header_value(value))
    return mailbox(name, addr)


@lru_cache(maxsize=1024)
def _text_header(value: str) -> str:
    """Folded; RFC 2047-encoded when not ASCII or when it holds something a reader would decode."""
    value = header_value(value, limit=300)
    charset = "us-ascii" if _plain(value) else "utf-8"
    return Header(value, charset, header_name="Subject").encode(maxlinelen=78, linesep="\r\n")


_PART_HEAD = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'


def message_bytes(
    rendered: Rendered,
    subscriber: Subscriber,
    settings: DigestSettings,
    *,
    edition: str,
    links: Links,
    now: datetime,
    subject: str | None = None,
    id_edition: str | None = None,
) -> tuple[bytes, str]:
    """(wire bytes with CRLF line ends, Message-ID) of the message for one subscriber.
    `id_edition` changes the Message-ID's edition part (test sends use "<key>-test")."""
    html_qp, text_qp = rendered.quoted_printable(subscriber, settings)
    domain = address_domain(settings.from_address)
    mid = message_id(id_edition or edition, subscriber.email, domain)
    to_addr = mail_address(subscriber.email).for_header()  # IDNA domain; UTF-8 only if it must
    token = header_value(subscriber.token, limit=128)
    mailto = _addr_spec(settings.unsubscribe_mailto or settings.from_address)
    boundary = "==fp-" + hashlib.sha256(mid.encode()).hexdigest()[:28]  # "=" never occurs unescaped in QP
    headers = [
        ("From", _address(settings.from_address)),
        ("To", mailbox(subscriber.name, to_addr)),
        *([("Reply-To", _address(settings.reply_to))] if settings.reply_to else []),
        ("Subject", _text_header(subject or rendered.subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", mid),
        ("List-Id", list_id(settings)),
        ("List-Unsubscribe", f"<{links.unsubscribe(token)}>,\r\n <mailto:{mailto}?subject=unsubscribe%20{token}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("List-Archive", f"<{links.web_view(edition)}>"),
        ("Precedence", "bulk"),
        ("X-Feedpipe-Edition", header_value(edition, limit=40)),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    _check_head(head, [name for name, _ in headers])
    data = b"".join((
        head.encode("utf-8"), b"\r\n",  # ASCII unless an address has a non-ASCII local part (RFC 6532)
        f"--{boundary}\r\n".encode(), _PART_HEAD % b"plain", text_qp, b"\r\n",
        f"--{boundary}\r\n".encode(), _PART_HEAD % b"html", html_qp, b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ))
    return data, mid


def _check_head(head: str, names: list[str]) -> None:
    """The physical header lines are exactly our headers, in order, plus folded continuations (which start
    with white space): a stray line break can neither add a header nor hide in a value."""
    starts = [line for line in head.split("\r\n")[:-1] if not line[:1].isspace()]
    if len(starts) != len(names) or any(not line.startswith(f"{name}: ") for line, name in zip(starts, names,
                                                                                             strict=True)):
        raise HeaderInjection(f"header lines do not match the headers built: {starts!r}")
    if "\n" in head.replace("\r\n", "") or "\r" in head.replace("\r\n", "") or "\x00" in head:
        raise HeaderInjection("a bare line break or NUL in the headers")


def build_message(
    rendered: Rendered,
    subscriber: Subscriber,
    settings: DigestSettings,
    *,
    edition: str,
    links: Links,
    now: datetime,
    subject: str | None = None,
    id_edition: str | None = None,
) -> EmailMessage:
    """The same message as an `EmailMessage` (for previews and tests)."""
    data, _ = message_bytes(rendered, subscriber, settings, edition=edition, links=links, now=now,
                            subject=subject, id_edition=id_edition)
    return message_from_bytes(data, policy=POLICY)


@lru_cache(maxsize=64)
def _addr_spec(value: str) -> str:
    return parseaddr(header_value(value))[1]


def envelope_sender(settings: DigestSettings) -> str:
    return _addr_spec(settings.from_address)


def verp_address(base: str, token: str) -> str:
    """The return path of one message, VERP-style: `local+TOKEN@domain` from the base address (the
    bounce mailbox's, or From's); a bounce comes back to it and names its edition and subscriber."""
    local, _, domain = _addr_spec(base).rpartition("@")
    local = local.partition("+")[0]
    return f"{local}+{header_value(token, limit=32)}@{domain}"


def as_bytes(msg: EmailMessage) -> bytes:
    """Wire form of an `EmailMessage`: CRLF line ends, lines within the SMTP limit."""
    return msg.as_bytes(policy=POLICY)
