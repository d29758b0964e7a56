# ruff: noqa: F811  (pytest fixtures imported from tests.bounce_support are used as arguments)
"""`/webhooks/ses` and `/webhooks/mailgun` as a provider calls them: signed calls change the list, unsigned,
badly signed, stale and replayed ones are refused and change nothing. SNS signatures are made with a key
and certificate generated here; the app gets them through a local `SnsClient` (never the internet)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from feedpipe.bounces.providers import WebhookRefused, sns_string_to_sign
from feedpipe.bounces.sns import fetching_sns_client
from feedpipe.core.settings import FetchSettings
from feedpipe.web import create_app
from tests.bounce_support import sent  # noqa: F401

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"
MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"


def make_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, CERT = make_signer()
OTHER_KEY, _ = make_signer()


class LocalSns:
    """The SnsClient the tests hand the app: the certificate from memory, confirmations remembered."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.confirmed: list[str] = []

    def certificate(self, url: str) -> bytes:
        self.fetched.append(url)
        return CERT

    def confirm(self, url: str) -> None:
        self.confirmed.append(url)


def sns_call(message: dict, *, when, message_id: str = "b1", version: str = "2", key=KEY, kind="Notification",
             **extra) -> bytes:
    msg = {"Type": kind, "MessageId": message_id, "TopicArn": TOPIC, "Message": json.dumps(message),
           "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "SignatureVersion": version,
           "SigningCertURL": CERT_URL, **extra}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS version 1 is SHA1
    msg["Signature"] = base64.b64encode(key.sign(sns_string_to_sign(msg), padding.PKCS1v15(), digest)).decode()
    return json.dumps(msg).encode()


def ses_bounce(email: str, source: str, *, permanent: bool = True) -> dict:
    return {"notificationType": "Bounce",
            "bounce": {"bounceType": "Permanent" if permanent else "Transient", "feedbackId": f"fb-{email}",
                       "bouncedRecipients": [{"emailAddress": email, "status": "5.1.1" if permanent else "4.4.7",
                                              "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
            "mail": {"messageId": "ses-1", "source": source, "destination": [email]}}


def mailgun_call(event: dict, *, when, token: str = "tok-1", key: str = MAILGUN_KEY) -> bytes:
    stamp = str(int(when.timestamp()))
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": stamp, "token": token, "signature": signature},
                       "event-data": event}).encode()


@pytest.fixture
def hook(sent, monkeypatch):
    monkeypatch.setenv("FEEDPIPE_MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    sns = LocalSns()
    client = create_app(sent.app, secret_key="test", sns=sns).test_client()
    return sent, client, sns


def test_a_signed_ses_bounce_marks_the_subscriber_bounced_through_its_return_path(hook):
    world, client, sns = hook
    # the provider reports the address the message went to; the return path says which subscriber and edition
    body = sns_call(ses_bounce("Anna@Example.com", world.senders["anna@example.com"]), when=world.moment[0])
    answer = client.post("/webhooks/ses", data=body, content_type="text/plain")
    assert answer.status_code == 200 and "hard" in answer.text
    assert sns.fetched == [CERT_URL]
    assert world.store.subscribers.get("anna@example.com").status == "bounced"
    assert world.store.suppressions.check("anna@example.com").reason == "bounced"


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_ses_complaint_unsubscribes_at_once(hook, version):
    world, client, _ = hook
    message = {"notificationType": "Complaint",
               "complaint": {"complainedRecipients": [{"emailAddress": "ben@example.com"}],
                             "complaintFeedbackType": "abuse", "feedbackId": "c-1"},
               "mail": {"source": world.senders["ben@example.com"]}}
    answer = client.post("/webhooks/ses", data=sns_call(message, when=world.moment[0], version=version))
    assert answer.status_code == 200
    assert world.store.subscribers.get("ben@example.com").status == "unsubscribed"
    assert world.store.suppressions.check("ben@example.com").reason == "complained"


def test_unsigned_badly_signed_stale_and_replayed_sns_calls_are_refused_and_change_nothing(hook):
    world, client, _ = hook
    now = world.moment[0]
    good = sns_call(ses_bounce("cara@example.com", world.senders["cara@example.com"]), when=now, message_id="m1")
    unsigned = json.loads(good)
    del unsigned["Signature"]
    tampered = json.loads(good)
    tampered["Message"] = tampered["Message"].replace("cara@", "dan@")
    forged = sns_call(ses_bounce("dan@example.com", "x"), when=now, message_id="m2", key=OTHER_KEY)
    stale = sns_call(ses_bounce("dan@example.com", "x"), when=now - timedelta(hours=2), message_id="m3")
    for body, code in ((json.dumps(unsigned).encode(), 403), (json.dumps(tampered).encode(), 403), (forged, 403),
                       (stale, 409), (b"not json", 400)):
        assert client.post("/webhooks/ses", data=body).status_code == code
    assert {s.status for s in world.store.subscribers.all()} == {"active"}
    assert client.post("/webhooks/ses", data=good).status_code == 200
    world.store.subscribers.set_status("cara@example.com", "active", now=now, opt_in=True)  # she confirmed again
    replay = client.post("/webhooks/ses", data=good)
    assert replay.status_code == 409 and "replay" in replay.text
    assert world.store.subscribers.get("cara@example.com").status == "active"


def test_a_subscription_confirmation_is_confirmed_through_the_sns_client(hook):
    world, client, sns = hook
    url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc"
    body = sns_call({}, when=world.moment[0], kind="SubscriptionConfirmation", SubscribeURL=url, Token="abc")
    assert client.post("/webhooks/ses", data=body).status_code == 200
    assert sns.confirmed == [url]


def test_the_certificate_is_fetched_only_from_an_sns_host():
    client = fetching_sns_client(FetchSettings(), lambda: datetime(2026, 11, 27, tzinfo=UTC))
    assert client.fetcher.settings.max_redirects == 0  # a redirect is never followed off the allowed host
    for url in ("https://evil.example.org/cert.pem", "http://sns.eu-west-1.amazonaws.com/cert.pem",
                "https://sns.eu-west-1.amazonaws.com.evil.org/cert.pem", "https://sns.eu-west-1.amazonaws.com/x.txt",
                "https://user@evil.org@sns.eu-west-1.amazonaws.com:8443/cert.pem"):
        with pytest.raises(WebhookRefused) as refused:
            client.certificate(url)
        assert refused.value.status == 403


def test_mailgun_calls_need_a_valid_fresh_signature_and_are_taken_once(hook):
    world, client, _ = hook
    now = world.moment[0]
    event = {"event": "failed", "severity": "permanent", "recipient": "dan@example.com", "id": "mg-1",
             "delivery-status": {"code": 550, "enhanced-code": "5.1.1"},
             "envelope": {"sender": world.senders["dan@example.com"]}}
    assert client.post("/webhooks/mailgun", data=mailgun_call(event, when=now, key="wrong")).status_code == 403
    assert client.post("/webhooks/mailgun", data=mailgun_call(event, when=now - timedelta(hours=1))).status_code == 409
    assert client.post("/webhooks/mailgun", data=json.dumps({"event-data": event})).status_code == 403
    assert world.store.subscribers.get("dan@example.com").status == "active"
    good = mailgun_call(event, when=now, token="tok-good")
    assert client.post("/webhooks/mailgun", data=good).status_code == 200
    assert world.store.subscribers.get("dan@example.com").status == "bounced"
    assert client.post("/webhooks/mailgun", data=good).status_code == 409
    complaint = {"event": "complained", "recipient": "eve@example.com", "id": "mg-2"}
    assert client.post("/webhooks/mailgun", data=mailgun_call(complaint, when=now, token="tok-2")).status_code == 200
    assert world.store.subscribers.get("eve@example.com").status == "unsubscribed"
    assert client.post("/webhooks/nowhere", data=b"{}").status_code == 404
