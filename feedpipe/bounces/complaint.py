"""Abuse reports in the Abuse Reporting Format (RFC 5965): multipart/report; report-type=feedback-report,
with a human-readable part, a message/feedback-report part (Feedback-Type, Original-Rcpt-To, ...) and
the returned message (or its headers). Every feedback type counts as a complaint except "not-spam"."""

from __future__ import annotations

from email.message import Message
from email.utils import parseaddr

NOT_COMPLAINTS = ("not-spam",)


def feedback_fields(msg: Message) -> Message | None:
    """The message/feedback-report part's fields (the email package parses them as one header block)."""
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):  # some reporters send it as text: parse the fields ourselves
            block = Message()
            for line in payload.splitlines():
                name, sep, value = line.partition(":")
                if sep and name.strip():
                    block[name.strip()] = value.strip()
            return block
    return None


def complaint(msg: Message) -> tuple[str, tuple[str, ...]] | None:
    """(feedback type, the complaining recipients it names) of an ARF report, or None when it is none."""
    fields = feedback_fields(msg)
    if fields is None:
        return None
    kind = str(fields.get("Feedback-Type", "abuse")).strip().lower() or "abuse"
    if kind in NOT_COMPLAINTS:
        return None
    named = [parseaddr(str(v))[1] for name in ("Original-Rcpt-To", "Removal-Recipient")
             for v in (fields.get_all(name) or [])]
    return kind, tuple(dict.fromkeys(a for a in named if "@" in a))
