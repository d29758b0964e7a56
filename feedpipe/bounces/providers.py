"""Provider webhooks for bounces and complaints, from bytes (a part: the checks and the mapping, no I/O).

Amazon SES through SNS: the SNS message is signed (SignatureVersion 1: RSA-SHA1, 2: RSA-SHA256) with
the key of a certificate at `SigningCertURL`, which must be `https://sns.<region>.amazonaws.com/...pem`
(`sns_cert_url_ok`; the adapter `bounces.sns` fetches it); the string to sign is the documented fields,
"Name\\nvalue\\n" each, in order. Mailgun: `signature.signature` is HMAC-SHA256 (the webhook signing key)
of `timestamp + token`. Both are refused when older than the allowed age; the caller refuses a
MessageId or token it has seen (the replay guard in the store).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import load_pem_x509_certificate

SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$")
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


class WebhookRefused(Exception):
    """The call is not accepted: `status` is the HTTP answer (400 malformed, 403 bad signature, 409 replay)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True, kw_only=True)
class ProviderEvent:
    email: str
    kind: str  # hard | soft | complaint
    status: str  # DSN status code, or the complaint's feedback type
    return_path: str | None  # the envelope sender the message went out with (our VERP address)
    ref: str  # the provider's id of this report


def json_object(body: bytes) -> dict[str, object]:
    try:
        found = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRefused(400, f"not JSON: {exc}") from exc
    if not isinstance(found, dict):
        raise WebhookRefused(400, "not a JSON object")
    return found


def _str(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def sns_url_ok(url: str) -> bool:
    """An https URL on sns.<region>.amazonaws.com: the only place a signing certificate (or a
    subscription confirmation) may come from."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.port in (None, 443) and bool(SNS_HOST.match(parts.hostname or ""))


def sns_cert_url_ok(url: str) -> bool:
    return sns_url_ok(url) and urlsplit(url).path.endswith(".pem")


def sns_string_to_sign(msg: Mapping[str, object]) -> bytes:
    fields = _NOTIFICATION_FIELDS if _str(msg, "Type") == "Notification" else _SUBSCRIPTION_FIELDS
    return "".join(f"{name}\n{_str(msg, name)}\n" for name in fields if name in msg).encode("utf-8")


def verify_sns(msg: Mapping[str, object], cert_pem: bytes, *, now: datetime, max_age_seconds: int) -> None:
    """Raise WebhookRefused unless `msg` is signed by `cert_pem`'s key and recent."""
    version = _str(msg, "SignatureVersion")
    algorithm: hashes.HashAlgorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
    if version not in ("1", "2"):
        raise WebhookRefused(403, f"unknown SignatureVersion {version!r}")
    try:
        signature = base64.b64decode(_str(msg, "Signature"), validate=True)
        key = load_pem_x509_certificate(cert_pem).public_key()
    except (binascii.Error, ValueError) as exc:
        raise WebhookRefused(403, f"unreadable signature or certificate: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRefused(403, "the signing certificate does not hold an RSA key")
    try:
        key.verify(signature, sns_string_to_sign(msg), padding.PKCS1v15(), algorithm)
    except InvalidSignature as exc:
        raise WebhookRefused(403, "the SNS signature does not match") from exc
    _recent(_str(msg, "Timestamp"), now, max_age_seconds)


def _recent(stamp: str, now: datetime, max_age_seconds: int) -> None:
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WebhookRefused(400, f"bad Timestamp {stamp!r}") from exc
    if at.tzinfo is None:
        raise WebhookRefused(400, f"Timestamp {stamp!r} has no time zone")
    age = (now - at).total_seconds()
    if age > max_age_seconds or age < -300:
        raise WebhookRefused(409, f"Timestamp {stamp} is outside the accepted window (a replay?)")


def ses_events(message: Mapping[str, object], message_id: str) -> list[ProviderEvent]:
    """The bounces and complaints of one SES notification (`notificationType` or `eventType`)."""
    kind = _str(message, "notificationType") or _str(message, "eventType")
    mail = message.get("mail")
    source = _str(mail, "source") if isinstance(mail, dict) else ""
    found: list[ProviderEvent] = []
    if kind == "Bounce" and isinstance(bounce := message.get("bounce"), dict):
        hard = _str(bounce, "bounceType") == "Permanent"
        ref = _str(bounce, "feedbackId") or message_id
        for rcpt in bounce.get("bouncedRecipients") or []:
            if isinstance(rcpt, dict) and _str(rcpt, "emailAddress"):
                status = _str(rcpt, "status") or ("5.0.0" if hard else "4.0.0")
                found.append(ProviderEvent(email=_str(rcpt, "emailAddress"), kind="hard" if hard else "soft",
                                           status=status, return_path=source or None, ref=ref))
    elif kind == "Complaint" and isinstance(complaint := message.get("complaint"), dict):
        ref = _str(complaint, "feedbackId") or message_id
        for rcpt in complaint.get("complainedRecipients") or []:
            if isinstance(rcpt, dict) and _str(rcpt, "emailAddress"):
                found.append(ProviderEvent(email=_str(rcpt, "emailAddress"), kind="complaint",
                                           status=_str(complaint, "complaintFeedbackType") or "abuse",
                                           return_path=source or None, ref=ref))
    return found


def verify_mailgun(payload: Mapping[str, object], key: str, *, now: datetime, max_age_seconds: int) -> str:
    """Check a Mailgun webhook's signature block; return its token (for the replay guard)."""
    block = payload.get("signature")
    if not isinstance(block, dict):
        raise WebhookRefused(403, "no signature block")
    stamp, token, signature = _str(block, "timestamp"), _str(block, "token"), _str(block, "signature")
    if not (stamp.isdigit() and token and signature):
        raise WebhookRefused(403, "an incomplete signature block")
    expected = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise WebhookRefused(403, "the Mailgun signature does not match")
    age = now.timestamp() - int(stamp)
    if age > max_age_seconds or age < -300:
        raise WebhookRefused(409, "the call's timestamp is outside the accepted window (a replay?)")
    return token


def mailgun_events(payload: Mapping[str, object]) -> list[ProviderEvent]:
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise WebhookRefused(400, "no event-data")
    event, email = _str(data, "event"), _str(data, "recipient")
    envelope = data.get("envelope")
    sender = _str(envelope, "sender") if isinstance(envelope, dict) else ""
    ref = _str(data, "id") or _str(data, "timestamp")
    if not email:
        return []
    if event == "complained":
        return [ProviderEvent(email=email, kind="complaint", status="abuse", return_path=sender or None, ref=ref)]
    if event == "failed":
        hard = _str(data, "severity") == "permanent"
        status_block = data.get("delivery-status")
        code = _str(status_block, "enhanced-code") if isinstance(status_block, dict) else ""
        return [ProviderEvent(email=email, kind="hard" if hard else "soft", status=code or ("5.0.0" if hard else
                                                                                             "4.0.0"),
                              return_path=sender or None, ref=ref)]
    return []
