# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""Exactly once, also after kill -9: a sender process is SIGKILLed at a chosen point of one message's SMTP
transaction (by the aiosmtpd server itself, so the point is exact), then the send is resumed at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.cli.context import Context
from feedpipe.cli.digest import digest
from feedpipe.core.settings import MailSettings, OutletSettings, Settings
from feedpipe.digest.send import send_edition
from feedpipe.mailer import SmtpTransport
from tests.digest_support import (  # noqa: F401  (fixtures)
    SEND_AT,
    WEEK,
    RecordingHandler,
    digest_settings,
    smtp_server,
    subscribe,
    week_store,
)

ROOT = Path(__file__).parent.parent
SUBSCRIBERS = 20

SENDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from tests.digest_support import SEND_AT, WEEK, digest_settings
    from feedpipe.digest.send import send_edition
    from feedpipe.mailer import SmtpTransport
    from feedpipe.store import Store
    store = Store.open({url!r}, now=SEND_AT)
    send_edition(store, digest_settings(), SmtpTransport("127.0.0.1", {port}, security="none"), WEEK, SEND_AT)
""")


class KillSender(RecordingHandler):
    """Records what it accepts; SIGKILLs the sending process at `point` ("mail", "rcpt": the transaction has
    begun, no body yet; "data": the server has the whole message and has not answered) of message `n`."""

    def __init__(self, point: str, n: int) -> None:
        super().__init__()
        self.point, self.n, self.pid, self.transactions = point, n, 0, 0

    def _maybe_kill(self, point: str) -> None:
        if point == self.point and self.transactions == self.n and self.pid:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.transactions += 1
        self._maybe_kill("mail")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self._maybe_kill("rcpt")
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)  # kept: it counts as delivered
        self._maybe_kill("data")
        return answer


def uncertain_listing(store, tmp_path: Path) -> str:
    """What `feedpipe digest uncertain` prints for this store."""
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"), digest=digest_settings(),
                        mail=MailSettings(outbox=tmp_path / "outbox"), public_dir=tmp_path / "public")
    obj = Context(None, None, quiet=False, app=App(settings, clock=lambda: SEND_AT, store=store))
    result = CliRunner().invoke(digest, ["uncertain"], obj=obj, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("point", "n"), [("mail", 1), ("mail", 9), ("rcpt", 5), ("mail", SUBSCRIBERS),
                                          ("data", 1), ("data", 9)])
def test_after_a_kill_9_anywhere_in_a_send_the_resumed_send_mails_every_subscriber_exactly_once(
        week_store, tmp_path, point, n):
    store = week_store
    emails = subscribe(store, SUBSCRIBERS)
    handler = KillSender(point, n)
    controller = smtp_server(handler)
    try:
        script = SENDER.format(root=str(ROOT), url=store.url, port=controller.port)
        proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stderr=subprocess.PIPE)
        handler.pid = proc.pid
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        delivered_before = len(handler.messages)
        assert delivered_before == (n if point == "data" else n - 1)

        # at once: the killed sender was a process of this host, so its 10-minute lease is not waited out
        report = send_edition(store, digest_settings(), SmtpTransport("127.0.0.1", controller.port, security="none"),
                              WEEK, SEND_AT + timedelta(minutes=1))
    finally:
        controller.stop()

    assert not report.not_claimed, report.errors
    assert handler.per_recipient() == {email: 1 for email in emails}  # nobody missing, nobody twice
    ledger = {e.email: e.state for e in store.ledger.entries(WEEK)}
    # the one row left "sending" is a message the server got: after the body (DATA), message n itself;
    # between messages (MAIL, RCPT), message n - 1, answered but its outcome not yet written (it goes in
    # one commit with the next message's claim). It is listed as uncertain and never resent; message n's
    # body never left, so the resumed run sends it
    victim = emails[n - 1] if point == "data" else emails[n - 2] if n > 1 else None
    if victim is not None:
        assert victim in handler.per_recipient()
        assert report.uncertain == 1 and [e.email for e in store.ledger.uncertain(WEEK)] == [victim]
        assert victim in uncertain_listing(store, tmp_path)
        assert ledger == {email: "uncertain" if email == victim else "sent" for email in emails}
    else:  # killed at the first message's MAIL: nothing went out, nothing is uncertain
        assert report.uncertain == 0 and store.ledger.uncertain(WEEK) == []
        assert ledger == dict.fromkeys(emails, "sent")
    assert report.sent == SUBSCRIBERS - delivered_before
    assert store.editions.get(WEEK).status == "sent"
