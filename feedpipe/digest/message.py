"""Build one digest email: multipart/alternative (text/plain first, text/html last), UTF-8, with the
list headers of RFC 2369 / RFC 8058.

The wire bytes are put together here directly (headers cleaned and RFC 2047-encoded by the standard
library's helpers, bodies quoted-printable by binascii), because the email package's policy machinery
costs several milliseconds a message and a send is meant to keep pace with raw SMTP. `build_message`
parses those bytes back for callers that want an `EmailMessage`.

Header values are cleaned before they are written: no value may carry CR, LF or any other control
character from article text (CVE-2024-6923: a headline with "\\r\\nBcc: x@evil" must not become a header
of its own), and every header line is checked once more before the message is returned. Text that
looks like an RFC 2047 encoded-word ("=?UTF-8?Q?=0D=0ABcc:...?=") is text: it is itself encoded, so a
reader decodes it back to those characters, never to a line break.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from feedpipe.core.model import Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.core.text import one_line
from feedpipe.digest.render import Links, Rendered

POLICY = SMTP.clone(max_line_length=78)


class HeaderInjection(ValueError):
    """A header value still held a line break after cleaning: refuse to build the message."""


def header_value(value: str | None, *, limit: int = 400) -> str:
    """A value fit for a header: one line, no control characters, bounded length."""
    return one_line(value)[:limit]


@lru_cache(maxsize=64)
def address_domain(address: str) -> str:
    _, addr = parseaddr(address)
    return addr.rpartition("@")[2].lower() or "localhost"


def message_id(edition: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message has the same id."""
    digest = hashlib.sha256(f"{edition}\x1f{email.lower()}".encode()).hexdigest()[:24]
    return f"<{edition}.{digest}@{domain}>"


def list_id(settings: DigestSettings) -> str:
    """The List-Id value (RFC 2919) as text: `"<title>" <list.id>`."""
    return f'"{_list_description(settings)}" <{_list_ident(settings)}>'


def _list_description(settings: DigestSettings) -> str:
    return header_value(settings.title).replace('"', "").replace("\\", "")


def _list_ident(settings: DigestSettings) -> str:
    return settings.list_id or f"weekly.{address_domain(settings.from_address)}"


def _needs_encoding(value: str) -> bool:
    """Non-ASCII, or text a decoder would take for an encoded-word: RFC 2047-encode it whole."""
    return not value.isascii() or "=?" in value


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # RFC 5322 specials: such a phrase is quoted (as email.utils does)
_QUOTED_PAIR = re.compile(r'[\\"]')


def _phrase(value: str, header: str = "To") -> str:
    """A display name or list description: plain or quoted ASCII, else RFC 2047-encoded whole (it
    decodes to `value`, never to a line break an encoded-word in the text spelled)."""
    if _needs_encoding(value):
        return Header(value, "utf-8", header_name=header).encode(maxlinelen=78, linesep="\r\n")
    if not _SPECIALS.search(value):
        return value
    return '"' + _QUOTED_PAIR.sub(r"\\\g<0>", value) + '"'


def _mailbox(name: str, addr: str) -> str:
    return f"{_phrase(name)} <{addr}>" if name else addr


@lru_cache(maxsize=64)
def _address(value: str) -> str:
    name, addr = parseaddr(header_value(value))
    return _mailbox(header_value(name), addr)


@lru_cache(maxsize=1024)
def _text_header(value: str) -> str:
    """Folded, RFC 2047-encoded when not ASCII or when it holds what looks like an encoded-word."""
    value = header_value(value, limit=300)
    charset = "utf-8" if _needs_encoding(value) else "us-ascii"
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
    to_addr = header_value(subscriber.email, limit=320)
    to_name = header_value(subscriber.name, limit=100)
    token = header_value(subscriber.token, limit=128)
    mailto = _addr_spec(settings.unsubscribe_mailto or settings.from_address)
    boundary = "==fp-" + hashlib.sha256(mid.encode()).hexdigest()[:28]  # "=" never occurs unescaped in QP
    headers = [
        ("From", _address(settings.from_address)),
        ("To", _mailbox(to_name, to_addr)),
        *([("Reply-To", _address(settings.reply_to))] if settings.reply_to else []),
        ("Subject", _text_header(subject or rendered.subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", mid),
        ("List-Id", _list_id_header(settings)),
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
        head.encode("ascii"), b"\r\n",
        f"--{boundary}\r\n".encode(), _PART_HEAD % b"plain", text_qp, b"\r\n",
        f"--{boundary}\r\n".encode(), _PART_HEAD % b"html", html_qp, b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ))
    return data, mid


def _list_id_header(settings: DigestSettings) -> str:
    return _list_id_value(_list_description(settings), _list_ident(settings))


@lru_cache(maxsize=64)
def _list_id_value(description: str, ident: str) -> str:
    """RFC 2919: the description is a phrase (encoded when it needs to be), the id stays outside it."""
    if not description:
        return f"<{ident}>"
    if _needs_encoding(description):
        return f"{_phrase(description, 'List-Id')} <{ident}>"
    return f'"{description}" <{ident}>'  # quoted, as RFC 2919's examples (it holds no '"' or '\\')


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
    return parseaddr(value)[1]


def envelope_sender(settings: DigestSettings) -> str:
    return _addr_spec(settings.from_address)


def as_bytes(msg: EmailMessage) -> bytes:
    """Wire form of an `EmailMessage`: CRLF line ends, lines within the SMTP limit."""
    return msg.as_bytes(policy=POLICY)
