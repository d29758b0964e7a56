# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""Sending the weekly digest through a real SMTP server (aiosmtpd on 127.0.0.1), exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

from feedpipe.digest.message import message_id
from feedpipe.digest.send import dry_run, send_edition, send_test
from feedpipe.mailer import SmtpTransport
from feedpipe.store import Store
from tests.digest_support import (  # noqa: F401  (fixtures)
    SEND_AT,
    WEEK,
    RecordingHandler,
    article,
    digest_settings,
    smtp,
    smtp_ascii,
    smtp_server,
    subscribe,
    week_store,
)

TESTS = Path(__file__).parent


def transport(controller, **kw) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", controller.port, security="none", **kw)


def test_each_subscriber_gets_one_multipart_message_with_list_headers(week_store, smtp):
    store = week_store
    controller, handler = smtp
    store.subscribers.add("anna@example.com", name="Anna", status="active", now=SEND_AT)
    store.subscribers.add("ben@example.com", status="active", countries=["KZ"], now=SEND_AT)
    store.subscribers.add("pending@example.com", status="pending", now=SEND_AT)

    report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)

    assert (report.sent, report.failed, report.uncertain) == (2, 0, 0)
    received = dict((rcpts[0], msg) for rcpts, msg in handler.parsed())
    assert sorted(received) == ["anna@example.com", "ben@example.com"]
    anna = received["anna@example.com"]
    assert anna.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in anna.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in anna.iter_parts())
    assert anna["From"] == "Example Weekly <weekly@news.example.org>"
    assert anna["Reply-To"] == "editors@news.example.org"
    assert anna["Subject"] == "Example Weekly: Ukraine Says Russia Aiming To Drag Belarus Into War After Strikes"
    assert anna["Date"] and anna["List-Id"] == '"Example Weekly" <weekly.news.example.org>'
    token = store.subscribers.get("anna@example.com").token
    assert anna["List-Unsubscribe"] == (
        f"<https://news.example.org/unsubscribe/{token}>, "
        f"<mailto:weekly@news.example.org?subject=unsubscribe%20{token}>"
    )
    assert anna["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = anna.get_body(("html",)).get_content()
    text = anna.get_body(("plain",)).get_content()
    assert f'href="https://news.example.org/unsubscribe/{token}"' in html
    assert "Dear Anna," in html and "Dear Anna," in text
    assert 'href="https://news.example.org/digest/2026-W48.html"' in html  # view in browser
    # every article URL is in the text part; the too-old one is in neither
    for slug in ("belarus-strikes", "exiles", "sanctions-analysis", "opinion-europe"):
        assert f"https://news.example.org/2026/11/{slug}" in text
    assert "old-news" not in text and "old-news" not in html
    # Ben only follows Kazakhstan: his edition leads with it and leaves the rest out
    ben = received["ben@example.com"]
    assert ben["Subject"] == "Example Weekly: Kazakhstan Reroutes Oil Exports"
    assert "belarus-strikes" not in ben.get_body(("plain",)).get_content()
    # Message-IDs are distinct per subscriber and recorded in the ledger
    assert anna["Message-ID"] != ben["Message-ID"]
    assert store.ledger.entry(WEEK, "anna@example.com").message_id == anna["Message-ID"]
    assert anna["Message-ID"] == message_id(WEEK, "anna@example.com", "news.example.org")  # stable: a resend matches
    assert store.editions.get(WEEK).status == "sent"
    # CRLF everywhere; body lines (quoted-printable) within RFC 2045's 76, header lines within SMTP's 998
    raw = handler.messages[0][1]
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_sending_again_sends_nothing(week_store, smtp):
    store = week_store
    controller, handler = smtp
    subscribe(store, 3)
    send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)
    again = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT + timedelta(hours=1))
    assert again.sent == 0 and again.already == 3
    assert len(handler.messages) == 3


def test_a_headline_cannot_smuggle_a_header(week_store, smtp):
    store = week_store
    controller, handler = smtp
    evil = article("evil", "Breaking\r\nBcc: victim@evil.example\r\nX-Injected: yes", hours_before=1)
    store.articles.upsert([evil], now=SEND_AT)
    store.editions.pick(WEEK, evil.id, pitch="line one\nBcc: other@evil.example")
    store.subscribers.add("anna@example.com", name="Anna\r\nBcc: name@evil.example", status="active", now=SEND_AT)

    send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)

    [(rcpts, msg)] = handler.parsed()
    assert rcpts == ["anna@example.com"]  # no extra envelope recipient
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert msg["Subject"] == "Example Weekly: Breaking Bcc: victim@evil.example X-Injected: yes"
    raw_headers = handler.messages[0][1].split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in raw_headers and b"\nX-Injected" not in raw_headers


def test_temporary_failures_are_retried_with_backoff(week_store):
    store = week_store
    handler = RecordingHandler({"reader001@example.com": ["451 try later", "451 try later", "250"]})
    controller = smtp_server(handler)
    try:
        subscribe(store, 3)
        pauses = []
        report = send_edition(store, digest_settings(retry_base_seconds=2.0), transport(controller), WEEK, SEND_AT,
                              sleep=pauses.append)
    finally:
        controller.stop()
    assert report.sent == 3 and report.retried == 2
    assert pauses == [2.0, 4.0]
    assert handler.per_recipient()["reader001@example.com"] == 1
    assert store.ledger.entry(WEEK, "reader001@example.com").state == "sent"


def test_a_permanent_failure_marks_that_subscriber_failed_and_the_send_goes_on(week_store):
    store = week_store
    handler = RecordingHandler({"reader001@example.com": ["550 5.1.1 no such mailbox"]})
    controller = smtp_server(handler)
    try:
        subscribe(store, 3)
        report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT, sleep=lambda s: None)
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (2, 1)
    entry = store.ledger.entry(WEEK, "reader001@example.com")
    assert entry.state == "failed" and "550" in entry.last_error
    assert sorted(handler.per_recipient()) == ["reader000@example.com", "reader002@example.com"]
    assert store.editions.get(WEEK).status == "sent"


class DropAfterData(RecordingHandler):
    """Takes the message, then hangs up before answering, for one recipient."""

    def __init__(self, victim: str) -> None:
        super().__init__()
        self.victim = victim

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        if self.victim in envelope.rcpt_tos:
            server.transport.close()
        return "250 OK"


def test_a_connection_lost_after_data_is_uncertain_and_not_resent(week_store):
    store = week_store
    handler = DropAfterData("reader001@example.com")
    controller = smtp_server(handler)
    try:
        subscribe(store, 3)
        report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)
        assert (report.sent, report.uncertain) == (2, 1)
        assert [e.email for e in store.ledger.uncertain(WEEK)] == ["reader001@example.com"]
        again = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT + timedelta(hours=1))
    finally:
        controller.stop()
    assert again.sent == 0
    assert handler.per_recipient() == {f"reader00{i}@example.com": 1 for i in range(3)}
    # the operator checks the server log and settles it
    assert store.ledger.resolve(WEEK, "reader001@example.com", "sent", now=SEND_AT)
    assert store.ledger.uncertain(WEEK) == []


class CrashAfter:
    """A transport that dies (like a killed process) right after the server accepted message `n`."""

    def __init__(self, inner, n: int) -> None:
        self.inner, self.n, self.count = inner, n, 0

    def send(self, message, **kw):
        self.inner.send(message, **kw)
        self.count += 1
        if self.count == self.n:
            raise KeyboardInterrupt("power cut")

    def close(self):
        self.inner.close()


def test_a_crashed_send_resumes_and_mails_each_subscriber_once(week_store, smtp):
    store = week_store
    controller, handler = smtp
    emails = subscribe(store, 12)
    with pytest.raises(KeyboardInterrupt):
        send_edition(store, digest_settings(), CrashAfter(transport(controller), 5), WEEK, SEND_AT)
    assert store.ledger.counts(WEEK)["sending"] == 1
    # within the lease nobody else may send; after it the next run takes over
    assert send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT).not_claimed
    report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT + timedelta(minutes=11))
    assert (report.sent, report.uncertain, report.already) == (7, 1, 4)
    assert handler.per_recipient() == {email: 1 for email in emails}
    assert [e.email for e in store.ledger.uncertain(WEEK)] == [emails[4]]


KILLED_SENDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from tests.digest_support import SEND_AT, WEEK, digest_settings
    from feedpipe.digest.send import send_edition
    from feedpipe.mailer import SmtpTransport
    from feedpipe.store import Store
    store = Store.open({url!r}, now=SEND_AT)
    send_edition(store, digest_settings(), SmtpTransport("127.0.0.1", {port}, security="none",
                 rate_per_second=40), WEEK, SEND_AT)
""")


def test_a_killed_sender_process_resumes_without_double_sending(week_store, smtp, tmp_path):
    store = week_store
    controller, handler = smtp
    emails = subscribe(store, 40)
    script = KILLED_SENDER.format(root=str(TESTS.parent), url=store.url, port=controller.port)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(TESTS.parent)},
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(handler.messages) < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()  # still sending when we pull the plug
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    got_before = len(handler.messages)
    assert 10 <= got_before < 40

    report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT + timedelta(minutes=11))

    counts = handler.per_recipient()
    assert max(counts.values()) == 1  # nobody twice
    ledger = {e.email: e.state for e in store.ledger.entries(WEEK)}
    assert all(counts[e] == 1 for e, state in ledger.items() if state == "sent")
    assert report.uncertain <= 1 and report.sent + got_before >= 39  # at most the one whose body was going out
    assert set(ledger) == set(emails) and set(ledger.values()) <= {"sent", "uncertain"}


def test_dry_run_builds_every_message_and_sends_none(week_store, smtp):
    store = week_store
    controller, handler = smtp
    subscribe(store, 5)
    report = dry_run(store, digest_settings(), WEEK, SEND_AT)
    assert report.built == 5 and report.sent == 0 and report.dry_run
    assert handler.messages == [] and store.ledger.entries(WEEK) == []
    assert store.editions.get(WEEK).lease_until is None  # not claimed either


def test_dry_run_writes_nothing_to_the_ledger_of_an_edition_already_sent(week_store, smtp):
    store = week_store
    controller, handler = smtp
    subscribe(store, 2)
    send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)
    store.subscribers.add("late@example.com", status="active", now=SEND_AT)
    ledger_before, edition_before = store.ledger.entries(WEEK), store.editions.get(WEEK)

    report = dry_run(store, digest_settings(), WEEK, SEND_AT + timedelta(hours=1))

    assert report.built == 3 and report.sent == 0
    assert store.ledger.entries(WEEK) == ledger_before and store.editions.get(WEEK) == edition_before
    assert store.ledger.entry(WEEK, "late@example.com") is None
    assert len(handler.messages) == 2


def test_a_test_send_goes_to_one_address_outside_the_ledger(week_store, smtp):
    store = week_store
    controller, handler = smtp
    subscribe(store, 3)
    report = send_test(store, digest_settings(), transport(controller), WEEK, SEND_AT, ["editor@example.org"])
    assert report.sent == 1
    [(rcpts, msg)] = handler.parsed()
    assert rcpts == ["editor@example.org"] and msg["Message-ID"].startswith("<2026-W48-test.")
    assert store.ledger.entries(WEEK) == [] and store.editions.get(WEEK).status == "building"


def test_a_test_copy_to_a_subscriber_marks_nobody_sent_and_the_real_send_still_reaches_them(week_store, smtp):
    store = week_store
    controller, handler = smtp
    emails = subscribe(store, 3)
    report = send_test(store, digest_settings(), transport(controller), WEEK, SEND_AT, [emails[1]])
    assert report.sent == 1
    assert store.ledger.entry(WEEK, emails[1]) is None and store.ledger.entries(WEEK) == []
    assert store.editions.get(WEEK).status == "building" and store.editions.get(WEEK).lease_until is None

    real = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)

    assert (real.sent, real.already) == (3, 0)
    assert handler.per_recipient() == {emails[0]: 1, emails[1]: 2, emails[2]: 1}  # the test copy, then the edition
    ids = [msg["Message-ID"] for rcpts, msg in handler.parsed() if rcpts == [emails[1]]]
    assert ids[0] != ids[1] and store.ledger.entry(WEEK, emails[1]).message_id == ids[1]


def test_an_empty_week_is_skipped(tmp_path, smtp):
    controller, handler = smtp
    empty = Store.open(f"sqlite:///{tmp_path / 'empty.db'}", now=SEND_AT)
    subscribe(empty, 2)
    report = send_edition(empty, digest_settings(), transport(controller), WEEK, SEND_AT)
    assert report.skipped and handler.messages == []
    assert empty.editions.get(WEEK).status == "skipped"


def test_an_internationalised_address_is_sent_idna_encoded_or_failed_with_the_reason_and_the_send_goes_on(
        week_store, smtp_ascii):
    store = week_store
    controller, handler = smtp_ascii  # no SMTPUTF8 offered
    for address in ("anna@example.com", "henry@exämple.org", "пётр@example.com", "zoe@example.com"):
        store.subscribers.add(address, status="active", now=SEND_AT)

    assert dry_run(store, digest_settings(), WEEK, SEND_AT).built == 4
    report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT, sleep=lambda s: None)

    assert (report.sent, report.failed, report.uncertain) == (3, 1, 0)
    entry = store.ledger.entry(WEEK, "пётр@example.com")
    assert entry.state == "failed" and "SMTPUTF8" in entry.last_error
    assert sorted(handler.per_recipient()) == ["anna@example.com", "henry@xn--exmple-cua.org", "zoe@example.com"]
    henry = next(msg for rcpts, msg in handler.parsed() if rcpts == ["henry@xn--exmple-cua.org"])
    assert henry["To"] == "henry@xn--exmple-cua.org"
    assert store.editions.get(WEEK).status == "sent"


class LedgerWatcher(RecordingHandler):
    """Reads the ledger at each MAIL FROM and at each message's end of DATA, as the server sees them."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.store = Store.open(url, now=SEND_AT)
        self.at_mail: list[dict[str, int]] = []
        self.at_data: list[str] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.at_mail.append(self.store.ledger.counts(WEEK))
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.at_data.append(self.store.ledger.entry(WEEK, envelope.rcpt_tos[0]).state)
        return await super().handle_DATA(server, session, envelope)


def test_a_row_is_sending_from_its_data_until_the_next_message_claims_its_own(week_store):
    store = week_store
    handler = LedgerWatcher(store.url)
    controller = smtp_server(handler)
    try:
        subscribe(store, 6)
        report = send_edition(store, digest_settings(), transport(controller), WEEK, SEND_AT)
    finally:
        controller.stop()
        handler.store.close()
    assert report.sent == 6
    # when a transaction begins, this message's row is still pending (killed here, the next run sends it)
    # and the one before, answered 250, is still "sending": its outcome is written in one commit with this
    # message's claim, at its DATA. So at most one row is ever "sending", and it is always a message the
    # server got (killed here, the next run marks it uncertain, never resends it)
    assert [(c["sent"], c["sending"], c["pending"]) for c in handler.at_mail] == [
        (max(i - 1, 0), min(i, 1), 6 - i) for i in range(6)]
    assert handler.at_data == ["sending"] * 6  # the body has reached the server: from here it is uncertain
    assert store.ledger.counts(WEEK)["sent"] == 6  # the last outcome is written when the run ends


def test_a_transaction_whose_start_is_declined_delivers_nothing(smtp):
    controller, handler = smtp
    smtp_transport = transport(controller)
    body = b"Subject: x\r\n\r\nbody\r\n"
    assert not smtp_transport.start(body, sender="weekly@news.example.org", recipients=["a@example.com"],
                                    message_id="<a@x>", on_start=lambda: False)
    smtp_transport.send(body, sender="weekly@news.example.org", recipients=["b@example.com"], message_id="<b@x>")
    smtp_transport.close()
    assert handler.per_recipient() == {"b@example.com": 1}
