"""Build one digest email: multipart/alternative (text/plain first, text/html last), UTF-8, with the
list headers of RFC 2369 / RFC 8058.

Header values are cleaned before they reach the email package: no value may carry CR, LF or any other
control character from article text (CVE-2024-6923: a headline with "\\r\\nBcc: x@evil" must not become
a header of its own).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from feedpipe.digest.model import Subscriber
from feedpipe.digest.render import Links, Rendered, one_line
from feedpipe.digest.settings import DigestSettings

POLICY = SMTP.clone(max_line_length=78)


def header_value(value: str | None, *, limit: int = 400) -> str:
    """A value fit for a header: one line, no control characters, bounded length."""
    return one_line(value)[:limit]


def address_domain(address: str) -> str:
    _, addr = parseaddr(address)
    return addr.rpartition("@")[2].lower() or "localhost"


def message_id(edition: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message has the same id."""
    digest = hashlib.sha256(f"{edition}\x1f{email.lower()}".encode()).hexdigest()[:24]
    return f"<{edition}.{digest}@{domain}>"


def list_id(settings: DigestSettings) -> str:
    domain = address_domain(settings.from_address)
    ident = settings.list_id or f"weekly.{domain}"
    title = header_value(settings.title).replace('"', "")
    return f'"{title}" <{ident}>'


def _clean_address(value: str) -> str:
    name, addr = parseaddr(header_value(value))
    return formataddr((header_value(name), addr)) if name else addr


def build_message(
    rendered: Rendered,
    subscriber: Subscriber,
    settings: DigestSettings,
    *,
    edition: str,
    links: Links,
    now: datetime,
    subject: str | None = None,
) -> EmailMessage:
    """The message for one subscriber. `subject` defaults to the rendered one (lead story)."""
    html_body, text_body = rendered.for_subscriber(subscriber, settings)
    domain = address_domain(settings.from_address)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _clean_address(settings.from_address)
    to_name = header_value(subscriber.name, limit=100)
    to_addr = header_value(subscriber.email, limit=320)
    msg["To"] = Address(display_name=to_name, addr_spec=to_addr) if to_name else to_addr
    if settings.reply_to:
        msg["Reply-To"] = _clean_address(settings.reply_to)
    msg["Subject"] = header_value(subject or rendered.subject, limit=200)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(edition, subscriber.email, domain)
    msg["List-Id"] = list_id(settings)
    unsubscribe_https = links.unsubscribe(subscriber.token)
    mailto = parseaddr(settings.unsubscribe_mailto or settings.from_address)[1]
    msg["List-Unsubscribe"] = f"<{unsubscribe_https}>, <mailto:{mailto}?subject=unsubscribe%20{subscriber.token}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Archive"] = f"<{links.web_view(edition)}>"
    msg["Precedence"] = "bulk"
    msg["X-Feedpipe-Edition"] = edition
    msg.set_content(text_body, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def envelope_sender(settings: DigestSettings) -> str:
    return parseaddr(settings.from_address)[1]


def as_bytes(msg: EmailMessage) -> bytes:
    """Wire form: CRLF line ends, lines within the SMTP limit."""
    return msg.as_bytes(policy=POLICY)
