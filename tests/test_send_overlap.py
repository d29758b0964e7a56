# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""The next message is built while the server still works on the one in flight (SMTP `start`/`finish`):
order and exactly-once are kept, a message that cannot be built or a stop midway marks nothing it should
not. These tests show what a user sees: who got what, in which order, what the ledger says, and that the
send leaves no thread of its own behind (a builder thread, if one is ever added, must be stopped)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

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


def test_a_message_that_cannot_be_built_stops_the_send_there_as_before_and_the_rest_stay_pending(
        week_store, smtp, monkeypatch):
    controller, handler = smtp
    emails = subscribe(week_store, 8)
    real = LoadedEdition.message_bytes

    def broken_for_the_fourth(self, subscriber, now, **kw):
        if subscriber.email == emails[3]:
            raise ValueError(f"cannot render the edition for {subscriber.email}")
        return real(self, subscriber, now, **kw)

    monkeypatch.setattr(LoadedEdition, "message_bytes", broken_for_the_fourth)
    with pytest.raises(ValueError, match=f"cannot render the edition for {emails[3]}"):
        send_edition(week_store, digest_settings(), transport(controller), WEEK, SEND_AT)

    # the three before it were sent and recorded (the one in flight was answered first); it and those
    # after it were neither sent nor claimed
    assert [rcpts[0] for rcpts, _ in handler.parsed()] == emails[:3]
    assert {e: week_store.ledger.entry(WEEK, e).state for e in emails} == {
        **{e: "sent" for e in emails[:3]}, **{e: "pending" for e in emails[3:]}}
    assert builder_threads() == []

    monkeypatch.setattr(LoadedEdition, "message_bytes", real)
    again = send_edition(week_store, digest_settings(), transport(controller), WEEK,
                         SEND_AT + timedelta(minutes=11))
    assert (again.sent, again.already) == (5, 3)
    assert handler.per_recipient() == {email: 1 for email in emails}


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
