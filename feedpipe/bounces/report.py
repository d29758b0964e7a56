"""What a message in the bounce mailbox says, from its bytes alone (a part: no store, no network).

    classify(data) -> Report   kind: "bounce" | "complaint" | "auto-reply" | "other"

- A delivery status notification (RFC 3464: multipart/report; report-type=delivery-status) is read
  here, block by block: the `Status` code decides (5.x.x hard, 4.x.x soft), `Action` only where the
  status is missing. flufl.bounce reads DSNs too, but classifies them by `Action` alone (a "failed"
  4.4.7 counts as permanent) and does not give the status code, so it is used for what it does well:
  the non-standard bounces (Exim's and qmail's text bounces, old Exchange, ...), and only for messages
  that come from a mail system (a null or MAILER-DAEMON/postmaster sender, or `X-Failed-Recipients`),
  never for a person's reply that happens to quote an address.
- An abuse report (ARF, RFC 5965: report-type=feedback-report) is a complaint (`complaint.py`).
- An auto-reply (RFC 3834 `Auto-Submitted`, `X-Autoreply`, `Precedence: auto_reply`, vacation
  subjects) and anything else is left alone: never counted.

Who it is about: the VERP token of our return path (`local+TOKEN@domain`, found in the report's
envelope headers or in the returned message's `Return-Path`), the subscriber token of the returned
message's `List-Unsubscribe`, the edition of its `X-Feedpipe-Edition`, and the failed addresses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr

from flufl.bounce import all_failures

TOKEN_LENGTH = 20
TOKEN = re.compile(rf"\+([a-z2-7]{{{TOKEN_LENGTH}}})@", re.IGNORECASE)
UNSUBSCRIBE_TOKEN = re.compile(r"/unsubscribe/([A-Za-z0-9_-]{8,128})")
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ENVELOPE_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "return-path")
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mail\.delivery\.system|bounces?)@", re.IGNORECASE)
_VACATION = re.compile(r"\b(out of (the )?office|auto(matic)?[ -]?reply|autoreply|vacation|abwesenheit|"
                       r"absence|on leave|away from)\b", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Failure:
    """One recipient a bounce reports: the address, its status code ("5.1.1", or "" when unknown), hard
    (permanent) or soft, and the diagnostic text."""

    address: str
    status: str
    hard: bool
    diagnostic: str = ""


@dataclass(frozen=True, kw_only=True)
class Report:
    kind: str  # bounce | complaint | auto-reply | other
    ref: str  # the report's Message-ID (or a hash of its bytes): one report counts once
    failures: tuple[Failure, ...] = ()
    complained: tuple[str, ...] = ()  # ARF: Original-Rcpt-To / Removal-Recipient
    feedback_type: str = ""  # ARF: abuse, fraud, ...
    tokens: tuple[str, ...] = ()  # VERP tokens, lower case
    subscriber_tokens: tuple[str, ...] = ()  # from the returned message's List-Unsubscribe
    edition: str | None = None  # from the returned message's X-Feedpipe-Edition
    detector: str = ""  # which reader understood it: dsn, arf, flufl

    @property
    def counted(self) -> bool:
        return self.kind in ("bounce", "complaint")


def parse(data: bytes) -> Message:
    """The message, parsed leniently (compat32 never raises on a malformed header)."""
    return message_from_bytes(data, policy=compat32)


def report_ref(msg: Message, data: bytes) -> str:
    mid = str(msg.get("Message-ID") or "").strip()
    return mid[:200] if mid else "sha256:" + hashlib.sha256(data).hexdigest()


def report_type(msg: Message) -> str:
    if msg.get_content_type() != "multipart/report":
        return ""
    return str(msg.get_param("report-type", "") or "").lower()


def returned_message(msg: Message) -> Message | None:
    """The returned original (message/rfc822 or text/rfc822-headers part) of a report, if any."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        elif ctype == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return parse(raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n")
    return None


def who(msg: Message, original: Message | None) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(VERP tokens, subscriber tokens, edition) found in the report's envelope headers and the original."""
    values = [str(v) for name in _ENVELOPE_HEADERS for v in (msg.get_all(name) or [])]
    subscriber: list[str] = []
    edition = None
    if original is not None:
        values += [str(v) for v in (original.get_all("return-path") or [])]
        for value in original.get_all("list-unsubscribe") or []:
            subscriber += UNSUBSCRIBE_TOKEN.findall(str(value))
        found = str(original.get("x-feedpipe-edition") or "").strip()
        edition = found[:40] or None
    tokens = [t.lower() for value in values for t in TOKEN.findall(value)]
    return tuple(dict.fromkeys(tokens)), tuple(dict.fromkeys(subscriber)), edition


def _address(field: str) -> str:
    """`rfc822; someone@example.org` -> `someone@example.org`."""
    _, _, value = field.partition(";")
    return parseaddr((value or field).strip())[1].strip("<>")


def dsn_failures(msg: Message) -> list[Failure]:
    """The failed and delayed recipients of an RFC 3464 report, classified by their Status code."""
    found: list[Failure] = []
    for part in msg.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:] if len(blocks) > 1 else blocks:  # the first block is per-message
            if not isinstance(block, Message):
                continue
            action = str(block.get("action", "")).strip().lower()
            if not action.startswith(("failed", "delayed", "error")):
                continue  # delivered, relayed, expanded: not a failure
            address = _address(str(block.get("original-recipient") or block.get("final-recipient") or ""))
            if not address:
                continue
            code = STATUS.search(str(block.get("status", "")))
            status = ".".join(code.groups()) if code else ""
            hard = status.startswith("5") if status else not action.startswith("delayed")
            diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())[:300]
            found.append(Failure(address=address, status=status, hard=hard, diagnostic=diagnostic))
    return found


def from_mail_system(msg: Message) -> bool:
    sender = parseaddr(str(msg.get("From", "")))[1]
    return_path = str(msg.get("Return-Path", "")).strip()
    return bool(_DAEMON.match(sender) or return_path == "<>" or msg.get("X-Failed-Recipients"))


def flufl_failures(msg: Message) -> list[Failure]:
    """Non-standard bounces through flufl.bounce; a status code is read from the text where given."""
    temporary, permanent = all_failures(msg)
    text = _text(msg)
    found = []
    for raw, hard in [*((a, False) for a in temporary), *((a, True) for a in permanent)]:
        address = raw.decode("ascii", "replace")
        code = _status_near(text, address)
        if code:
            hard = code.startswith("5")
        found.append(Failure(address=address, status=code, hard=hard, diagnostic=""))
    return found


def _text(msg: Message) -> str:
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                parts.append(raw.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)


def _status_near(text: str, address: str) -> str:
    """The enhanced status code (or an SMTP reply's class) in the text after the address."""
    at = text.lower().find(address.lower())
    window = text[at:at + 600] if at >= 0 else text[:2000]
    code = STATUS.search(window)
    if code:
        return ".".join(code.groups())
    reply = re.search(r"\b([45])\d\d[ -]", window)
    return f"{reply.group(1)}.0.0" if reply else ""


def is_auto_reply(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (auto not in ("", "no") or bool(msg.get("X-Autoreply")) or bool(msg.get("X-Autorespond"))
            or precedence in ("auto_reply", "auto-reply") or bool(_VACATION.search(str(msg.get("Subject", "")))))
