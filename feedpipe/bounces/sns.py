"""Reaching SNS (an adapter): the signing certificate of a notification, and the confirmation of a new
subscription, both through feedpipe's one HTTP client (`feedpipe.fetch`: bounded, address policy) and
only on `https://sns.<region>.amazonaws.com` (checked before the request and after any redirect).
Tests hand the webhook a `SnsClient` of their own that serves a local certificate."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from feedpipe.bounces.providers import WebhookRefused, sns_cert_url_ok, sns_url_ok
from feedpipe.core.clock import Clock
from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import FetchSettings
from feedpipe.fetch import Fetcher

MAX_CERTS = 32
MAX_CERT_BYTES = 64 * 1024


class SnsClient(Protocol):
    def certificate(self, url: str) -> bytes:
        """The PEM at `url` (an SNS signing certificate); WebhookRefused when it may not or cannot be had."""
        ...

    def confirm(self, url: str) -> None:
        """Visit a SubscriptionConfirmation's SubscribeURL."""
        ...


class FetchingSnsClient:
    """Certificates fetched once per URL and kept (a few; SNS rotates them rarely)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._certs: dict[str, bytes] = {}

    def certificate(self, url: str) -> bytes:
        if not sns_cert_url_ok(url):
            raise WebhookRefused(403, f"SigningCertURL {url!r} is not an https URL on sns.<region>.amazonaws.com")
        if url not in self._certs:
            try:
                got = self.fetcher.get(url)
            except FeedpipeError as exc:
                raise WebhookRefused(503, f"cannot fetch the signing certificate: {exc.message}") from exc
            if not sns_cert_url_ok(got.final_url) or got.status != 200:
                raise WebhookRefused(403, f"the signing certificate moved to {got.final_url!r}: refused")
            if len(self._certs) >= MAX_CERTS:
                self._certs.clear()
            self._certs[url] = got.body
        return self._certs[url]

    def confirm(self, url: str) -> None:
        if not sns_url_ok(url):
            raise WebhookRefused(403, f"SubscribeURL {url!r} is not an https URL on sns.<region>.amazonaws.com")
        try:
            self.fetcher.get(url)
        except FeedpipeError as exc:
            raise WebhookRefused(503, f"cannot confirm the subscription: {exc.message}") from exc


def fetching_sns_client(settings: FetchSettings, now: Clock) -> FetchingSnsClient:
    """An SNS client over feedpipe's fetcher that follows no redirect (so no request ever leaves the
    allowed hosts) and reads at most 64 KiB."""
    return FetchingSnsClient(Fetcher(replace(settings, max_redirects=0, max_bytes=MAX_CERT_BYTES), now=now))
