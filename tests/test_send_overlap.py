# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""The next message is built while the server still works on the one in flight (SMTP `start`/`finish`):
order and exactly-once are kept, a message that cannot be built fails only its subscriber, and a stop midway
marks nothing it should not. These tests show what a user sees: who got what, in which order, what the ledger says, and that the
send leaves no thread of its own behind (a builder thread, if one is ever added, must be stopped)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from feedpipe.core.errors import FeedpipeError
from feedpipe.digest.build import LoadedEdition
from feedpipe.digest.send import send_edition
from feedpipe.mailer import SmtpTransport
from tests.digest_support import (  # noqa: F401  (fixtures)
    SEND_AT,
    WEEK,
    digest_settings,
    smtp,
    subscribe,
    week_store,
)


def builder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "feedpipe-digest-build"]


def transport(controller) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", controller.port, security="none")


def test_messages_arrive_in_ledger_order_each_once_and_no_builder_thread_is_left(week_store, smtp):
    controller, handler = smtp
    emails = subscribe(week_store, 30)

    report = send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    assert report.sent == report.built == 30
    assert [rcpts[0] for rcpts, _ in handler.parsed()] == emails
    assert handler.per_recipient() == {email: 1 for email in emails}
    assert builder_threads() == []


def broken_for(emails: set[str]):
    """LoadedEdition.message_bytes that cannot build these subscribers' messages."""
    real = LoadedEdition.message_bytes

    def message_bytes(self, subscriber, now, **kw):
        if subscriber.email in emails:
            raise ValueError(f"cannot render the edition for {subscriber.email}")
        return real(self, subscriber, now, **kw)

    return message_bytes


def test_a_message_that_cannot_be_built_fails_that_subscriber_only_and_the_others_get_theirs(
        week_store, smtp, monkeypatch):
    controller, handler = smtp
    emails = subscribe(week_store, 8)
    monkeypatch.setattr(LoadedEdition, "message_bytes", broken_for({emails[3]}))

    report = send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    assert (report.sent, report.failed) == (7, 1)
    assert [rcpts[0] for rcpts, _ in handler.parsed()] == emails[:3] + emails[4:]
    entry = week_store.ledger.entry(WEEK, emails[3])
    assert entry.state == "failed"
    assert f"could not be built: cannot render the edition for {emails[3]}" in (entry.last_error or "")
    assert builder_threads() == []


def test_messages_that_cannot_be_built_three_in_a_row_stop_the_send_with_the_rest_pending(
        week_store, smtp, monkeypatch):
    controller, handler = smtp
    emails = subscribe(week_store, 8)
    real = LoadedEdition.message_bytes
    monkeypatch.setattr(LoadedEdition, "message_bytes", broken_for(set(emails[2:])))  # a broken edition

    with pytest.raises(FeedpipeError, match="the last 3 messages could not be built"):
        send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    # two sent, two failed before the pattern was clear; the third and the rest were never claimed
    assert [rcpts[0] for rcpts, _ in handler.parsed()] == emails[:2]
    assert {e: week_store.ledger.entry(WEEK, e).state for e in emails} == {
        **{e: "sent" for e in emails[:2]}, **{e: "failed" for e in emails[2:4]},
        **{e: "pending" for e in emails[4:]}}

    monkeypatch.setattr(LoadedEdition, "message_bytes", real)  # the edition fixed: the send resumes
    again = send_edition(week_store, digest_settings(), transport(controller), WEEK,
                         SEND_AT + timedelta(minutes=11))
    assert again.sent == 4
    assert handler.per_recipient() == {email: 1 for email in emails[:2] + emails[4:]}


class StopsBefore(SmtpTransport):
    """A send that is stopped (Ctrl-C) just as message `n` is about to start, after `n - 1` went out."""

    def __init__(self, port: int, n: int) -> None:
        super().__init__("127.0.0.1", port, security="none")
        self.n, self.started = n, 0

    def start(self, message, **kw):
        self.started += 1
        if self.started == self.n:
            raise KeyboardInterrupt("stopped by the operator")
        return super().start(message, **kw)


def test_a_send_stopped_midway_leaves_no_thread_and_marks_sent_only_what_the_server_got(week_store, smtp):
    controller, handler = smtp
    emails = subscribe(week_store, 10)

    with pytest.raises(KeyboardInterrupt):
        send_edition(week_store, digest_settings(), StopsBefore(controller.port, 5), WEEK, SEND_AT)

    assert builder_threads() == []
    received = [rcpts[0] for rcpts, _ in handler.parsed()]
    assert received == emails[:4]  # the message in flight when it stopped was answered and recorded
    states = {e: week_store.ledger.entry(WEEK, e).state for e in emails}
    assert [e for e, s in states.items() if s == "sent"] == received
    assert [e for e, s in states.items() if s == "pending"] == emails[4:]  # never sent: still pending

    again = send_edition(week_store, digest_settings(), transport(controller), WEEK,
                         SEND_AT + timedelta(minutes=11))
    assert (again.sent, again.already, again.uncertain) == (6, 4, 0)
    assert handler.per_recipient() == {email: 1 for email in emails}
    assert builder_threads() == []
