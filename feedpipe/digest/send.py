"""Send an edition exactly once per subscriber, through the send ledger in the store.

Each subscriber's row moves pending → sending → sent | failed | uncertain by compare-and-set, and only
the process holding the edition's claim (a lease it renews) sends. A run that is killed leaves at most
the one row it was sending in "sending": the next run (after the lease expires) marks it uncertain
rather than resend it, and carries on with the pending rows. Messages are built and sent one at a
time, so memory does not grow with the list; finishing one row and claiming the next share one
write transaction.

    4xx          retried with backoff (2, 4, 8 s ... injected `sleep`), then failed
    5xx          failed; the send goes on
    lost after DATA, before the reply   uncertain; listed by `feedpipe digest uncertain`, resolved by hand
    no server    the run stops, the row goes back to pending; the next run resumes
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SendReport, Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.digest.build import prepare
from feedpipe.digest.message import envelope_sender
from feedpipe.mailer import (
    ConnectionFailure,
    PermanentFailure,
    SendError,
    TemporaryFailure,
    Transport,
    TransportSetupError,
    UncertainDelivery,
)
from feedpipe.store.subscribers import normalize_email

PAGE = 500
RENEW_EVERY_SECONDS = 30.0


def send_edition(
    store,
    digest_settings: DigestSettings,
    transport: Transport,
    edition_key: str,
    now: datetime,
    *,
    dry_run: bool = False,
    only: Iterable[str] | None = None,
    feeds_public_url: str | None = None,
    public_url: str | None = None,
    templates_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send edition `edition_key` to every active subscriber who has not had it yet.

    `dry_run` builds every message and sends none (no ledger, no claim). `only` sends a test copy to
    these addresses (subscribers get their personal edition, others the general one) outside the ledger,
    with a Message-ID of their own so the real send later is not taken for a duplicate.
    Time inside a long run is `now` plus the elapsed `clock()`; `sleep` is used for retry backoff.
    """
    settings = digest_settings
    started = clock()

    def current() -> datetime:
        return now + timedelta(seconds=clock() - started)

    prepared = prepare(store, settings, edition_key, now, feeds_public_url=feeds_public_url,
                       public_url=public_url, templates_dir=templates_dir)
    sender = envelope_sender(settings)
    empty = not prepared.general.items

    if only is not None:
        report = SendReport(edition=edition_key, dry_run=dry_run)
        try:
            for address in only:
                email = normalize_email(address)
                subscriber = store.subscribers.get(email) or Subscriber(email=email, status="active", token="preview")
                data, mid = prepared.message_bytes(subscriber, current(), id_edition=f"{edition_key}-test")
                report = replace(report, built=report.built + 1)
                if not dry_run:
                    transport.send(data, sender=sender, recipients=[email], message_id=mid)
                    report = replace(report, sent=report.sent + 1)
        finally:
            transport.close()
        return report

    if dry_run:
        built = 0
        for subscriber in store.subscribers.iter("active"):
            prepared.message_bytes(subscriber, current())
            built += 1
        return SendReport(edition=edition_key, dry_run=True, built=built, skipped=empty and settings.skip_if_empty)

    edition = store.editions.get(edition_key)
    if edition is not None and edition.status in ("sent", "skipped"):
        counts = store.ledger.counts(edition_key)
        return SendReport(edition=edition_key, already=counts["sent"] + counts["failed"] + counts["uncertain"],
                          skipped=edition.status == "skipped")
    lease = timedelta(minutes=settings.lease_minutes)
    if empty and settings.skip_if_empty:
        if store.editions.claim(edition_key, current(), lease=lease):
            store.editions.finish(edition_key, "skipped", now=current())
        return SendReport(edition=edition_key, skipped=True)

    if not store.editions.claim(edition_key, current(), lease=lease):
        return SendReport(edition=edition_key, not_claimed=True,
                          errors=("another process is sending this edition (its lease has not expired)",))
    recovered = store.ledger.recover(edition_key, now=current())
    store.ledger.enqueue(edition_key, now=current())
    before = store.ledger.counts(edition_key)
    already = before["sent"] + before["failed"] + before["uncertain"] - recovered
    last_renew = clock()
    with store.ledger.session(edition_key) as step:
        sender_run = _Sender(store, step, prepared, transport, sender, current, sleep)
        sender_run.tally["uncertain"] = recovered
        _run(store, sender_run, transport, edition_key, lease, clock, current, last_renew)
    counts = store.ledger.counts(edition_key)
    if counts["pending"] == 0 and counts["sending"] == 0:
        store.editions.finish(edition_key, "sent", now=current(), subject=prepared.rendered(prepared.general).subject)
    else:
        store.editions.release(edition_key)
    t = sender_run.tally
    return SendReport(edition=edition_key, sent=t["sent"], failed=t["failed"], uncertain=t["uncertain"],
                      retried=t["retried"], already=already, built=t["built"], errors=tuple(sender_run.errors[:50]))


def _run(store, sender_run, transport, edition_key, lease, clock, current, last_renew) -> None:
    """The send loop: pages of pending subscribers, one message each, the lease renewed as it goes."""
    try:
        after = ""
        while True:
            page = store.ledger.pending_subscribers(edition_key, after=after, limit=PAGE)
            if not page:
                break
            for subscriber in page:
                after = subscriber.email
                if clock() - last_renew > RENEW_EVERY_SECONDS:
                    store.editions.renew(edition_key, current(), lease=lease)
                    last_renew = clock()
                sender_run.one(subscriber)
        sender_run.end()
    finally:
        sender_run.flush()
        transport.close()


class _Sender:
    """One run's loop body.

    Outcomes are written together with the claim of the next message (a `ledger.session` step); whatever is
    still unwritten is flushed when the run ends, however it ends. With a transport that can split a
    send (`start`/`finish`, as SMTP can), the next message is built and claimed while the server is
    still working on the previous one, so neither costs wall time. The price: a process killed outright
    (SIGKILL, power cut) may leave two rows "sending" (the one in flight and the one before, whose answer
    had come but was not written yet); both become uncertain, neither is resent.
    """

    def __init__(self, store, step, prepared, transport, sender, current, sleep) -> None:
        self.store, self.step, self.prepared, self.transport = store, step, prepared, transport
        self.sender, self.current, self.sleep = sender, current, sleep
        self.key, self.settings = prepared.key, prepared.settings
        self.tally = {"sent": 0, "failed": 0, "uncertain": 0, "retried": 0, "built": 0}
        self.errors: list[str] = []
        self.outcomes: list[tuple[str, str, str | None, str | None]] = []
        self.inflight: tuple[str, bytes, str] | None = None
        self.split = callable(getattr(transport, "start", None)) and callable(getattr(transport, "finish", None))

    def flush(self) -> None:
        """Write the last outcome. A message still in flight when the run is cut short stays "sending"
        (the next run records it as uncertain)."""
        if self.outcomes:
            self.step(finished=self.outcomes, now=self.current())
            self.outcomes = []

    def end(self) -> None:
        self.complete()
        self.flush()

    def _done(self, email: str, state: str, error: str | None, mid: str | None) -> None:
        self.outcomes.append((email, state, error, mid))
        self.tally[state] += 1
        if error:
            self.errors.append(f"{email}: {error}")

    def one(self, subscriber: Subscriber) -> None:
        email = subscriber.email
        data = mid = None
        if subscriber.status == "active":
            data, mid = self.prepared.message_bytes(subscriber, self.current())
            self.tally["built"] += 1
        # claim it (and record what is known) while the server still works on the message in flight
        claimed = self.step(finished=self.outcomes, claim=email, now=self.current())
        self.outcomes = []
        self.complete()  # the answer to the message in flight
        if not claimed:
            return  # someone else moved it: never send a row we did not claim
        if data is None:
            self._done(email, "failed", "not sent: no longer an active subscriber", None)
            return
        try:
            if self.split:
                self.transport.start(data, sender=self.sender, recipients=[email], message_id=mid)
                self.inflight = (email, data, mid)
                return
            self.transport.send(data, sender=self.sender, recipients=[email], message_id=mid)
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, exc, attempt=1)
            return
        self._done(email, "sent", None, mid)

    def complete(self) -> None:
        if self.inflight is None:
            return
        email, data, mid = self.inflight
        self.inflight = None
        try:
            self.transport.finish()
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, exc, attempt=1)
            return
        self._done(email, "sent", None, mid)

    def _failed(self, email: str, data: bytes, mid: str, exc: Exception, *, attempt: int) -> None:
        """Decide what a failed attempt means, retrying temporary failures (synchronously) with backoff."""
        while True:
            if isinstance(exc, PermanentFailure):
                self._done(email, "failed", str(exc), mid)
                return
            if isinstance(exc, UncertainDelivery):
                self._done(email, "uncertain", str(exc), mid)
                return
            if isinstance(exc, TransportSetupError):
                self.store.ledger.transition(self.key, email, expect="sending", to="pending", now=self.current(),
                                             error="transport setup failed")
                raise exc
            assert isinstance(exc, TemporaryFailure), exc
            if attempt >= self.settings.max_attempts:
                if isinstance(exc, ConnectionFailure):  # nothing got out: put it back and stop the run
                    self.store.ledger.transition(self.key, email, expect="sending", to="pending",
                                                 now=self.current(), error=str(exc))
                    raise FeedpipeError(
                        f"edition {self.key}: {exc.message}; stopped after {self.tally['sent']} sent, "
                        "the rest stay pending",
                        exc.hint or "fix the mail server, then run the send again: it resumes where it stopped",
                    ) from exc
                self._done(email, "failed", f"gave up after {attempt} tries: {exc}", mid)
                return
            self.tally["retried"] += 1
            self.sleep(self.settings.retry_base_seconds * 2 ** (attempt - 1))
            attempt += 1
            try:
                self.transport.send(data, sender=self.sender, recipients=[email], message_id=mid)
            except (SendError, TransportSetupError) as again:
                exc = again
                continue
            self._done(email, "sent", None, mid)
            return
