"""Bounces and complaints, read from bytes (a part: pure, no store, no network).

`classify(data)` says what one message of the bounce mailbox is (see `report.py` for the rules);
the bounce service (`feedpipe.bounces.service`) decides what it means for the list, and the mailbox
adapter (`feedpipe.bounces.mailbox`) reads IMAP or a Maildir.
"""

from __future__ import annotations

from dataclasses import replace

from feedpipe.bounces.complaint import complaint
from feedpipe.bounces.report import (
    TOKEN_LENGTH,
    Failure,
    Report,
    dsn_failures,
    flufl_failures,
    from_mail_system,
    is_auto_reply,
    parse,
    report_ref,
    report_type,
    returned_message,
    who,
)


def classify(data: bytes) -> Report:
    """What the message `data` is: a bounce (with its failures), a complaint, an auto-reply or other."""
    msg = parse(data)
    ref = report_ref(msg, data)
    rtype = report_type(msg)
    original = returned_message(msg) if rtype or from_mail_system(msg) else None
    tokens, subscriber_tokens, edition = who(msg, original)
    common = Report(kind="other", ref=ref, tokens=tokens, subscriber_tokens=subscriber_tokens, edition=edition)
    if rtype == "feedback-report":
        found = complaint(msg)
        if found is None:
            return replace(common, detector="arf")
        kind, named = found
        return replace(common, kind="complaint", feedback_type=kind, complained=named, detector="arf")
    if rtype == "delivery-status":
        failures = dsn_failures(msg)
        if failures:
            return replace(common, kind="bounce", failures=tuple(failures), detector="dsn")
    if from_mail_system(msg):
        failures = flufl_failures(msg)
        if failures:
            return replace(common, kind="bounce", failures=tuple(failures), detector="flufl")
    if is_auto_reply(msg):
        return Report(kind="auto-reply", ref=ref)
    return Report(kind="other", ref=ref)


__all__ = ["TOKEN_LENGTH", "Failure", "Report", "classify"]
