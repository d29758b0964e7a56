"""Shared pieces of the bounce tests: an edition really sent over SMTP (aiosmtpd on 127.0.0.1) with its
VERP return paths, and the bounce fixtures (tests/fixtures/bounces/*.eml, written after the formats of
Postfix, Exim, Gmail, Outlook, ARF reporters, an auto-reply and a person's answer) filled in for one
recipient of that send."""

from __future__ import annotations

import mailbox
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from feedpipe.app import App
from feedpipe.bounces.service import return_paths
from feedpipe.core.settings import BounceSettings, MailSettings, OutletSettings, Settings
from feedpipe.digest.send import send_edition
from feedpipe.mailer import SmtpTransport
from feedpipe.store import Store
from tests.digest_support import SEND_AT, WEEK, digest_settings, smtp_server, week_of_articles

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
READERS = ("anna@example.com", "ben@example.com", "cara@example.com", "dan@example.com", "eve@example.com",
           "fay@example.com")


class EnvelopeRecorder:
    """An aiosmtpd handler keeping each message's envelope sender per recipient."""

    def __init__(self) -> None:
        self.senders: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.senders[rcpt] = envelope.mail_from
        return "250 OK"


@dataclass
class Sent:
    """One edition sent to READERS over real SMTP: the app, and each reader's return path."""

    app: App
    store: Store
    tmp: Path
    senders: dict[str, str]
    port: int
    moment: list = field(default_factory=list)

    def report(self, name: str, reader: str, *, serial: str = "1") -> bytes:
        """Fixture `name` as it would come back for `reader` of this send."""
        sub = self.store.subscribers.get(reader)
        text = (FIXTURES / name).read_text(encoding="utf-8")
        for key, value in (("{RETURN_PATH}", self.senders[reader]), ("{RCPT}", reader),
                           ("{UNSUB}", sub.token if sub else "gone"), ("{EDITION}", WEEK), ("{SERIAL}", serial)):
            text = text.replace(key, value)
        return text.replace("\n", "\r\n").encode("utf-8")

    def send(self, edition: str = WEEK):
        transport = SmtpTransport("127.0.0.1", self.port, security="none")
        return send_edition(self.store, self.app.settings.digest, transport, edition, self.moment[0],
                            return_paths=return_paths(self.app), sleep=lambda _s: None)


def maildir_with(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for data in messages:
        box.add(data)
    box.close()
    return path


@pytest.fixture
def sent(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'feedpipe.db'}", now=SEND_AT)
    store.articles.upsert(week_of_articles(), now=SEND_AT)
    for reader in READERS:
        store.subscribers.add(reader, status="active", now=SEND_AT)
    recorder = EnvelopeRecorder()
    controller = smtp_server(recorder)
    moment = [SEND_AT]
    settings = Settings(outlet=OutletSettings(public_url="https://news.example.org"),
                        digest=digest_settings(from_address="Example Weekly <news@news.example.org>"),
                        mail=MailSettings(transport="smtp", host="127.0.0.1", port=controller.port, security="none"),
                        bounces=BounceSettings(soft_limit=3, soft_days=30), public_dir=tmp_path / "public")
    app = App(settings, clock=lambda: moment[0], store=store)
    world = Sent(app=app, store=store, tmp=tmp_path, senders=recorder.senders, port=controller.port, moment=moment)
    report = world.send()
    assert report.sent == len(READERS), report
    yield world
    controller.stop()
    store.close()
