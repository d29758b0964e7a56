# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""The transports: an atomic .eml outbox, and SMTP against a real aiosmtpd (STARTTLS, TLS, auth, reuse)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from feedpipe.core.settings import MailSettings
from feedpipe.mailer import (
    ConnectionFailure,
    OutboxTransport,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    TransportSetupError,
    make_transport,
)
from tests.digest_support import RecordingHandler, free_port, smtp, smtp_ascii, smtp_server  # noqa: F401

MESSAGE = (b"From: a@example.org\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\n"
           b"Hello.\r\n.A line starting with a dot\r\n")


def send(transport, to="b@example.com", message=MESSAGE, mid="<1@example.org>"):
    transport.send(message, sender="a@example.org", recipients=[to], message_id=mid)


def test_the_outbox_writes_one_eml_per_message_id_atomically(tmp_path):
    outbox = OutboxTransport(tmp_path / "outbox")
    send(outbox)
    send(outbox)  # the same message again replaces, never duplicates
    send(outbox, mid="<2@example.org>")
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(name.endswith(".eml") for name in files)
    assert not any(name.startswith(".tmp") for name in files)
    assert (tmp_path / "outbox" / files[0]).read_bytes() == MESSAGE


def test_smtp_reuses_one_connection_and_keeps_dot_lines_intact(smtp):
    controller, handler = smtp
    transport = SmtpTransport("127.0.0.1", controller.port, security="none")
    for i in range(5):
        send(transport, to=f"r{i}@example.com")
    transport.close()
    assert transport.connections == 1 and len(handler.messages) == 5
    body = message_from_bytes(handler.messages[0][1], policy=policy.default).get_content()
    assert ".A line starting with a dot" in body


def test_smtp_classifies_answers_by_code():
    handler = RecordingHandler({"busy@example.com": ["452 mailbox busy"], "gone@example.com": ["550 no such user"]})
    controller = smtp_server(handler)
    try:
        transport = SmtpTransport("127.0.0.1", controller.port, security="none")
        with pytest.raises(TemporaryFailure) as temporary:
            send(transport, to="busy@example.com")
        with pytest.raises(PermanentFailure) as permanent:
            send(transport, to="gone@example.com")
        send(transport, to="fine@example.com")  # the connection is still good after a refusal
        transport.close()
    finally:
        controller.stop()
    assert temporary.value.code == 452 and permanent.value.code == 550
    assert transport.connections == 1 and handler.per_recipient() == {"fine@example.com": 1}


def test_no_server_is_a_connection_failure_with_a_hint():
    transport = SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(ConnectionFailure) as caught:
        send(transport)
    assert "cannot connect" in caught.value.message and "SMTP server" in caught.value.hint


def test_the_rate_limit_spaces_messages_out(smtp):
    controller, _ = smtp
    now = [100.0]
    pauses = []

    def sleep(seconds):
        pauses.append(round(seconds, 3))
        now[0] += seconds

    transport = SmtpTransport("127.0.0.1", controller.port, security="none", rate_per_second=4,
                              sleep=sleep, clock=lambda: now[0])
    for _ in range(3):
        send(transport)
    transport.close()
    assert pauses == [0.25, 0.25]


@dataclass(frozen=True)
class Tls:
    """A throwaway certificate's server and client contexts."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return Tls(server=server, client=client)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"weekly" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_smtp_over_tls_with_login(certificate, security):
    handler = RecordingHandler()
    port = free_port()
    kwargs = {"tls_context": certificate.server, "require_starttls": True} if security == "starttls" else \
        {"ssl_context": certificate.server}
    # (aiosmtpd does not count implicit TLS as TLS for auth_require_tls; the connection is encrypted anyway)
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=security == "starttls", **kwargs)
    controller.start()
    try:
        good = SmtpTransport("127.0.0.1", port, security=security, username="weekly", password="s3cret",
                             ssl_context=certificate.client)
        send(good)
        good.close()
        bad = SmtpTransport("127.0.0.1", port, security=security, username="weekly", password="wrong",
                            ssl_context=certificate.client)
        with pytest.raises(TransportSetupError) as caught:
            send(bad)
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert "password_env" in caught.value.hint


def test_make_transport_follows_the_mail_settings(tmp_path, monkeypatch):
    assert isinstance(make_transport(MailSettings(outbox=tmp_path)), OutboxTransport)
    monkeypatch.setenv("MY_SMTP_PASSWORD", "pw")
    smtp_transport = make_transport(MailSettings(transport="smtp", host="mail.example.org", port=465,
                                                 security="tls", username="u", password_env="MY_SMTP_PASSWORD"))
    assert isinstance(smtp_transport, SmtpTransport)
    assert (smtp_transport.host, smtp_transport.port, smtp_transport._password) == ("mail.example.org", 465, "pw")
    assert Path(MailSettings().outbox) == Path("outbox")


# ---- addresses as mail systems see them --------------------------------------------------------

UTF8_MESSAGE = ("From: a@example.org\r\nTo: пётр@пример.рф\r\nSubject: hi\r\nMessage-ID: <u@example.org>\r\n\r\n"
                "Привет.\r\n").encode()


def test_an_internationalised_domain_goes_out_idna_encoded_when_the_server_has_no_smtputf8(smtp_ascii):
    controller, handler = smtp_ascii
    transport = SmtpTransport("127.0.0.1", controller.port, security="none")
    send(transport, to="henry@exämple.org")
    transport.close()
    assert handler.per_recipient() == {"henry@xn--exmple-cua.org": 1}


def test_a_non_ascii_local_part_goes_over_smtputf8_when_the_server_offers_it():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    controller.start()
    try:
        transport = SmtpTransport("127.0.0.1", controller.port, security="none")
        send(transport, to="пётр@пример.рф", message=UTF8_MESSAGE, mid="<u@example.org>")
        transport.close()
    finally:
        controller.stop()
    assert handler.per_recipient() == {"пётр@пример.рф": 1}
    assert message_from_bytes(handler.messages[0][1], policy=policy.default)["To"] == "пётр@пример.рф"


def test_a_non_ascii_local_part_without_smtputf8_is_refused_with_the_reason_and_the_connection_goes_on(smtp_ascii):
    controller, handler = smtp_ascii
    transport = SmtpTransport("127.0.0.1", controller.port, security="none")
    with pytest.raises(PermanentFailure) as refused:
        send(transport, to="пётр@пример.рф", message=UTF8_MESSAGE, mid="<u@example.org>")
    send(transport, to="fine@example.com")
    transport.close()
    assert "SMTPUTF8" in refused.value.message and "пётр@пример.рф" in refused.value.message
    assert handler.per_recipient() == {"fine@example.com": 1} and transport.connections == 1
