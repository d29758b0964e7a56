"""Provider webhooks as use cases (a service): check the call, refuse a replay, then hand each bounce or
complaint to the one decision of `bounces.service.apply`."""

from __future__ import annotations

import logging
from datetime import datetime

from feedpipe.bounces.providers import (
    ProviderEvent,
    WebhookRefused,
    json_object,
    mailgun_events,
    ses_events,
    verify_mailgun,
    verify_sns,
)
from feedpipe.bounces.report import TOKEN
from feedpipe.bounces.service import Event, HygieneStore, apply
from feedpipe.bounces.sns import SnsClient
from feedpipe.core.settings import BounceSettings

log = logging.getLogger(__name__)


def _apply_all(store: HygieneStore, settings: BounceSettings, found: list[ProviderEvent], source: str,
               now: datetime) -> str:
    outcomes = []
    for item in found:
        email, edition = item.email, None
        token = TOKEN.search(item.return_path or "")
        match = store.bounces.by_token(token.group(1)) if token else None
        if match is not None:
            email, edition = match.email, match.edition
        event = Event(email=email, kind=item.kind, status=item.status, edition=edition, source=source, ref=item.ref)
        outcomes.append(apply(store, settings, event, now))
    return ", ".join(outcomes) or "nothing to record"


def handle_ses(store: HygieneStore, settings: BounceSettings, body: bytes, sns: SnsClient, now: datetime) -> str:
    """An SNS POST carrying SES notifications: verified, replay-checked, recorded. WebhookRefused if not."""
    msg = json_object(body)
    cert_url = msg.get("SigningCertURL")
    if not isinstance(cert_url, str) or not msg.get("Signature"):
        raise WebhookRefused(403, "unsigned SNS message")
    verify_sns(msg, sns.certificate(cert_url), now=now, max_age_seconds=settings.webhook_max_age_seconds)
    topic = msg.get("TopicArn")
    if settings.sns_topic_arns and topic not in settings.sns_topic_arns:
        raise WebhookRefused(403, f"topic {topic!r} is not in [bounces] sns_topic_arns")
    message_id = str(msg.get("MessageId") or "")
    if not message_id or not store.bounces.first_call("ses", message_id, now=now):
        raise WebhookRefused(409, f"SNS message {message_id!r} was already received (a replay)")
    kind = msg.get("Type")
    if kind == "SubscriptionConfirmation":
        url = msg.get("SubscribeURL")
        if isinstance(url, str):
            sns.confirm(url)
        log.info("confirmed the SNS subscription to %s", topic)
        return "subscription confirmed"
    if kind != "Notification":
        return f"{kind}: nothing to do"
    inner = json_object(str(msg.get("Message") or "").encode("utf-8"))
    return _apply_all(store, settings, ses_events(inner, message_id), "ses", now)


def handle_mailgun(store: HygieneStore, settings: BounceSettings, body: bytes, key: str | None,
                   now: datetime) -> str:
    """A Mailgun webhook: verified with the signing key, replay-checked, recorded. WebhookRefused if not."""
    if not key:
        raise WebhookRefused(503, f"no Mailgun signing key: set the environment variable {settings.mailgun_key_env}")
    payload = json_object(body)
    token = verify_mailgun(payload, key, now=now, max_age_seconds=settings.webhook_max_age_seconds)
    if not store.bounces.first_call("mailgun", token, now=now):
        raise WebhookRefused(409, "this Mailgun call was already received (a replay)")
    return _apply_all(store, settings, mailgun_events(payload), "mailgun", now)
