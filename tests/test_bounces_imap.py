# ruff: noqa: F811  (pytest fixtures imported from the support modules are used as arguments)
"""The bounce mailbox over real IMAP: a throwaway Dovecot on 127.0.0.1 (IMAPS, a certificate the client
verifies), holding the reports of Postfix, Exim, Gmail and Outlook, ARF complaints, an auto-reply and a
person's answer, as they would come back from an edition really sent over SMTP."""

from __future__ import annotations

import imaplib
import ssl
from dataclasses import replace

import pytest
from click.testing import CliRunner

from feedpipe.app import App
from feedpipe.bounces.service import fetch_bounces
from feedpipe.cli.bounces import bounces
from feedpipe.cli.context import Context
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import BounceSettings
from tests.bounce_support import sent  # noqa: F401
from tests.dovecot import PASSWORD, USER, dovecot  # noqa: F401


def imap_client(server) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port,
                               ssl_context=ssl.create_default_context(cafile=str(server.ca_file)))
    client.login(USER, PASSWORD)
    return client


def subjects(server, folder: str) -> list[str]:
    client = imap_client(server)
    try:
        status, _ = client.select(f'"{folder}"', readonly=True)
        if status != "OK":
            return []
        _, data = client.search(None, "UNDELETED")
        found = []
        for num in data[0].split():
            _, parts = client.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            found.append(parts[0][1].decode().strip().removeprefix("Subject: "))
        return sorted(found)
    finally:
        client.logout()


def app_reading(world, server, **changes) -> App:
    settings = BounceSettings(imap_host="127.0.0.1", imap_port=server.port, imap_user=USER,
                              ca_file=server.ca_file, processed_folder="Processed", **changes)
    return App(replace(world.app.settings, bounces=settings), clock=world.app.clock, store=world.store)


@pytest.fixture
def mailbox_full(sent, dovecot, monkeypatch):
    monkeypatch.setenv("FEEDPIPE_BOUNCES_PASSWORD", PASSWORD)
    client = imap_client(dovecot)
    for name, reader in (("postfix_hard.eml", "anna@example.com"), ("exim_hard.eml", "ben@example.com"),
                         ("gmail_hard.eml", "cara@example.com"), ("outlook_hard.eml", "dan@example.com"),
                         ("postfix_delayed.eml", "eve@example.com"), ("arf_abuse.eml", "fay@example.com"),
                         ("auto_reply.eml", "eve@example.com"), ("human_reply.eml", "eve@example.com")):
        status, _ = client.append("INBOX", None, None, sent.report(name, reader))
        assert status == "OK"
    client.logout()
    return sent, dovecot


def test_bounces_fetch_reads_the_imap_mailbox_over_tls(mailbox_full):
    world, server = mailbox_full
    app = app_reading(world, server)
    result = CliRunner().invoke(bounces, ["fetch"], obj=Context(None, None, quiet=False, app=app),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "8 read, 4 hard, 1 soft, 1 complaint, 1 auto-reply, 1 other" in result.output
    status = {s.email: s.status for s in world.store.subscribers.all()}
    assert status == {"anna@example.com": "bounced", "ben@example.com": "bounced", "cara@example.com": "bounced",
                      "dan@example.com": "bounced", "eve@example.com": "active", "fay@example.com": "unsubscribed"}
    # the counted reports moved to Processed; the auto-reply and the answer stay in the inbox, unread
    assert subjects(server, "INBOX") == ["Out of Office: The Weekly, 27 November", "Re: The Weekly, 27 November"]
    assert len(subjects(server, "Processed")) == 6
    again = fetch_bounces(app, now=world.moment[0])
    assert dict(again.counts) == {"read": 2, "auto-reply": 1, "other": 1}


def test_replies_can_be_moved_aside_so_the_inbox_holds_only_what_is_new(mailbox_full):
    world, server = mailbox_full
    fetch_bounces(app_reading(world, server, others_folder="Replies"), now=world.moment[0])
    assert subjects(server, "INBOX") == []
    assert subjects(server, "Replies") == ["Out of Office: The Weekly, 27 November", "Re: The Weekly, 27 November"]


def test_a_server_whose_certificate_is_not_trusted_is_refused_with_a_hint(mailbox_full):
    world, server = mailbox_full
    app = app_reading(world, server)  # without ca_file: the system's CAs, which never signed the test server
    untrusted = App(replace(app.settings, bounces=replace(app.settings.bounces, ca_file=None)), clock=app.clock,
                    store=world.store)
    with pytest.raises(FeedpipeError, match="CERTIFICATE_VERIFY_FAILED") as refused:
        fetch_bounces(untrusted, now=world.moment[0])
    assert "ca_file" in refused.value.hint
    assert {s.status for s in world.store.subscribers.all()} == {"active"}


def test_a_wrong_password_is_an_error_naming_the_mailbox(mailbox_full, monkeypatch):
    world, server = mailbox_full
    monkeypatch.setenv("FEEDPIPE_BOUNCES_PASSWORD", "wrong")
    with pytest.raises(FeedpipeError, match=f"bounce mailbox 127.0.0.1:{server.port}"):
        fetch_bounces(app_reading(world, server), now=world.moment[0])
