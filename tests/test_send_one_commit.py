# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""One ledger commit per message: a message's outcome "sent" is written in the same transaction as the
next message's claim (at its DATA), and nothing read is left unwritten when the run ends, stops or waits.
The next message's DATA block is made ready (`SmtpTransport.prepare`) while the server works on the one in
flight; what goes out is always the message `start` was given."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from feedpipe.digest.send import send_edition
from feedpipe.mailer import SmtpTransport
from tests.digest_support import (  # noqa: F401  (fixtures)
    SEND_AT,
    WEEK,
    RecordingHandler,
    digest_settings,
    smtp,
    smtp_server,
    subscribe,
    week_store,
)


def transport(controller) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", controller.port, security="none")


def count_steps(store, monkeypatch) -> list[tuple[list[str], str | None]]:
    """Every ledger step of the send (each its own commit): (addresses whose outcome it writes, claim)."""
    steps: list[tuple[list[str], str | None]] = []
    real = store.ledger.session

    @contextlib.contextmanager
    def session(edition):
        with real(edition) as step:
            def counted(*, finished=(), claim=None, now):
                finished = list(finished)
                steps.append(([email for email, *_ in finished], claim))
                return step(finished=finished, claim=claim, now=now)
            yield counted

    monkeypatch.setattr(store.ledger, "session", session)
    return steps


def test_a_send_commits_once_per_message_each_claim_carrying_the_previous_answer(week_store, smtp, monkeypatch):
    controller, handler = smtp
    emails = subscribe(week_store, 12)
    steps = count_steps(week_store, monkeypatch)

    report = send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    assert report.sent == 12 and handler.per_recipient() == {email: 1 for email in emails}
    assert steps == [([], emails[0])] + [([emails[i - 1]], emails[i]) for i in range(1, 12)] + [([emails[-1]], None)]
    counts = week_store.ledger.counts(WEEK)
    assert (counts["sent"], counts["sending"], counts["pending"]) == (12, 0, 0)


def test_an_answer_read_before_a_retry_wait_is_written_before_the_wait(week_store):
    emails = subscribe(week_store, 6)
    handler = RecordingHandler({emails[3]: ["451 4.3.0 try again later", "250"]})  # refused once, at RCPT
    controller = smtp_server(handler)
    during_wait: list[dict[str, int]] = []
    try:
        report = send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT,
                              sleep=lambda _: during_wait.append(week_store.ledger.counts(WEEK)))
    finally:
        controller.stop()

    assert (report.sent, report.retried) == (6, 1)
    # messages 0-2 answered: all three written before the backoff, the refused one still pending
    assert [(c["sent"], c["sending"], c["pending"]) for c in during_wait] == [(3, 0, 3)]
    assert handler.per_recipient() == {email: 1 for email in emails}


def test_a_prepared_message_goes_out_as_prepared_and_never_in_place_of_another(smtp):
    controller, handler = smtp
    smtp_transport = transport(controller)
    first = b"Subject: one\r\n\r\n.a line that starts with a dot\r\nbody\r\n"
    other = b"Subject: two\r\n\r\nanother body\r\n"
    sender = "weekly@news.example.org"

    smtp_transport.prepare(first, sender=sender, recipients=["a@example.com"])
    smtp_transport.send(other, sender=sender, recipients=["b@example.com"], message_id="<b@x>")  # not the prepared one
    smtp_transport.prepare(first, sender=sender, recipients=["a@example.com"])
    smtp_transport.send(first, sender=sender, recipients=["a@example.com"], message_id="<a@x>")
    smtp_transport.close()

    assert handler.messages == [(["b@example.com"], other), (["a@example.com"], first)]  # dot-stuffing undone


def test_when_a_claim_cannot_be_written_the_answer_it_carried_is_still_written(
        week_store, smtp, monkeypatch):
    controller, handler = smtp
    emails = subscribe(week_store, 6)
    real = week_store.ledger.session

    @contextlib.contextmanager
    def session(edition):
        with real(edition) as step:
            def failing_once(*, finished=(), claim=None, now):
                if claim == emails[3] and not failing_once.failed:  # noqa: B023 - the attribute is the flag
                    failing_once.failed = True
                    raise sqlite3.OperationalError("database is locked")
                return step(finished=finished, claim=claim, now=now)
            failing_once.failed = False
            yield failing_once

    monkeypatch.setattr(week_store.ledger, "session", session)
    with pytest.raises(sqlite3.OperationalError):
        send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    counts = week_store.ledger.counts(WEEK)  # message 2's answer, carried by the failed claim, is written
    assert (counts["sent"], counts["sending"], counts["pending"]) == (3, 0, 3)
    assert handler.per_recipient() == {email: 1 for email in emails[:3]}  # message 3 never started
