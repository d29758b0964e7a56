"""Send an edition: three entry points over one core (the loaded edition, the envelope sender and the
run's clock), none of them switched by flags.

    send_edition  the real send, exactly once per subscriber through the send ledger
    dry_run       who would get what: builds every message, sends none, writes nothing to the ledger
    send_test     one copy to each given address, outside the ledger (a Message-ID of its own)

The real send:

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
from datetime import datetime, timedelta
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SendReport, Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.digest.build import LoadedEdition, load_edition
from feedpipe.digest.message import envelope_sender
from feedpipe.digest.ports import EditionStore, LedgerStep, LedgerStore, Outcome, PipelinedTransport
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


class _Run:
    """What every kind of send shares: the edition loaded once, the envelope sender, and the run's
    clock. Time inside a long run is the caller's `now` plus the elapsed `monotonic()` seconds (a
    stopwatch, never a calendar read)."""

    def __init__(self, loaded: LoadedEdition, now: datetime, monotonic: Callable[[], float], started: float) -> None:
        self.loaded = loaded
        self.key = loaded.key
        self.settings = loaded.settings
        self.sender = envelope_sender(loaded.settings)
        self.monotonic = monotonic
        self._start_now, self._start_tick = now, started

    def now(self) -> datetime:
        return self._start_now + timedelta(seconds=self.monotonic() - self._start_tick)

    @property
    def empty(self) -> bool:
        return not self.loaded.general.items

    def message(self, subscriber: Subscriber, *, id_edition: str | None = None) -> tuple[bytes, str]:
        """(wire bytes, Message-ID) of this subscriber's personal edition."""
        return self.loaded.message_bytes(subscriber, self.now(), id_edition=id_edition)


def _start(
    store: EditionStore,
    settings: DigestSettings,
    edition_key: str,
    now: datetime,
    monotonic: Callable[[], float],
    feeds_public_url: str | None,
    public_url: str | None,
    templates_dir: Path | None,
) -> _Run:
    started = monotonic()
    loaded = load_edition(store, settings, edition_key, now, feeds_public_url=feeds_public_url,
                          public_url=public_url, templates_dir=templates_dir)
    return _Run(loaded, now, monotonic, started)


def dry_run(
    store: EditionStore,
    digest_settings: DigestSettings,
    edition_key: str,
    now: datetime,
    *,
    feeds_public_url: str | None = None,
    public_url: str | None = None,
    templates_dir: Path | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Build the message every active subscriber would get, and send none: no transport, no claim,
    nothing written to the ledger. `built` counts the messages; `skipped` says the edition is empty and
    would be skipped."""
    run = _start(store, digest_settings, edition_key, now, monotonic, feeds_public_url, public_url, templates_dir)
    built = 0
    for subscriber in store.subscribers.iter("active"):
        run.message(subscriber)
        built += 1
    return SendReport(edition=edition_key, dry_run=True, built=built,
                      skipped=run.empty and digest_settings.skip_if_empty)


def send_test(
    store: EditionStore,
    digest_settings: DigestSettings,
    transport: Transport,
    edition_key: str,
    now: datetime,
    addresses: Iterable[str],
    *,
    feeds_public_url: str | None = None,
    public_url: str | None = None,
    templates_dir: Path | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send one test copy to each of `addresses`, outside the ledger: nobody is marked sent and the
    edition is not claimed. A subscriber gets their personal edition, anyone else the general one; the
    Message-ID is "<key>-test..." so the real send later is not taken for a duplicate. The transport is
    closed at the end."""
    sent = built = 0
    try:
        run = _start(store, digest_settings, edition_key, now, monotonic, feeds_public_url, public_url,
                     templates_dir)
        for address in addresses:
            email = normalize_email(address)
            subscriber = store.subscribers.get(email) or Subscriber(email=email, status="active", token="preview")
            data, mid = run.message(subscriber, id_edition=f"{edition_key}-test")
            built += 1
            transport.send(data, sender=run.sender, recipients=[email], message_id=mid)
            sent += 1
    finally:
        transport.close()
    return SendReport(edition=edition_key, built=built, sent=sent)


def send_edition(
    store: LedgerStore,
    digest_settings: DigestSettings,
    transport: Transport,
    edition_key: str,
    now: datetime,
    *,
    feeds_public_url: str | None = None,
    public_url: str | None = None,
    templates_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send edition `edition_key` to every active subscriber who has not had it yet, exactly once each,
    through the ledger (see the module's notes). `sleep` is used for retry backoff."""
    settings = digest_settings
    run = _start(store, settings, edition_key, now, monotonic, feeds_public_url, public_url, templates_dir)
    edition = store.editions.get(edition_key)
    if edition is not None and edition.status in ("sent", "skipped"):
        counts = store.ledger.counts(edition_key)
        return SendReport(edition=edition_key, already=counts["sent"] + counts["failed"] + counts["uncertain"],
                          skipped=edition.status == "skipped")
    lease = timedelta(minutes=settings.lease_minutes)
    if run.empty and settings.skip_if_empty:
        if store.editions.claim(edition_key, run.now(), lease=lease):
            store.editions.finish(edition_key, "skipped", now=run.now())
        return SendReport(edition=edition_key, skipped=True)

    if not store.editions.claim(edition_key, run.now(), lease=lease):
        return SendReport(edition=edition_key, not_claimed=True,
                          errors=("another process is sending this edition (its lease has not expired)",))
    recovered = store.ledger.recover(edition_key, now=run.now())
    store.ledger.enqueue(edition_key, now=run.now())
    before = store.ledger.counts(edition_key)
    already = before["sent"] + before["failed"] + before["uncertain"] - recovered
    with store.ledger.session(edition_key) as step:
        sender_run = _Sender(store, step, run, transport, sleep)
        sender_run.tally["uncertain"] = recovered
        _loop(store, sender_run, transport, run, lease)
    counts = store.ledger.counts(edition_key)
    if counts["pending"] == 0 and counts["sending"] == 0:
        subject = run.loaded.rendered(run.loaded.general).subject
        store.editions.finish(edition_key, "sent", now=run.now(), subject=subject)
    else:
        store.editions.release(edition_key)
    t = sender_run.tally
    return SendReport(edition=edition_key, sent=t["sent"], failed=t["failed"], uncertain=t["uncertain"],
                      retried=t["retried"], already=already, built=t["built"], errors=tuple(sender_run.errors[:50]))


def _loop(store: LedgerStore, sender_run: _Sender, transport: Transport, run: _Run, lease: timedelta) -> None:
    """The send loop: pages of pending subscribers, one message each, the lease renewed as it goes."""
    last_renew = run.monotonic()
    try:
        after = ""
        while True:
            page = store.ledger.pending_subscribers(run.key, after=after, limit=PAGE)
            if not page:
                break
            for subscriber in page:
                after = subscriber.email
                if run.monotonic() - last_renew > RENEW_EVERY_SECONDS:
                    store.editions.renew(run.key, run.now(), lease=lease)
                    last_renew = run.monotonic()
                sender_run.one(subscriber)
        sender_run.end()
    finally:
        sender_run.flush()
        transport.close()


class _Sender:
    """One real send's loop body.

    Outcomes are written together with the claim of the next message (a `ledger.session` step); whatever is
    still unwritten is flushed when the run ends, however it ends. With a transport that can split a
    send (`start`/`finish`, as SMTP can), the next message is built and claimed while the server is
    still working on the previous one, so neither costs wall time. The price: a process killed outright
    (SIGKILL, power cut) may leave two rows "sending" (the one in flight and the one before, whose answer
    had come but was not written yet); both become uncertain, neither is resent.
    """

    def __init__(self, store: LedgerStore, step: LedgerStep, run: _Run, transport: Transport,
                 sleep: Callable[[float], None]) -> None:
        self.store, self.step, self.run, self.transport, self.sleep = store, step, run, transport, sleep
        self.key, self.settings, self.sender = run.key, run.settings, run.sender
        self.tally = {"sent": 0, "failed": 0, "uncertain": 0, "retried": 0, "built": 0}
        self.errors: list[str] = []
        self.outcomes: list[Outcome] = []
        self.inflight: tuple[str, bytes, str] | None = None
        self.pipelined = transport if isinstance(transport, PipelinedTransport) else None

    def flush(self) -> None:
        """Write the last outcome. A message still in flight when the run is cut short stays "sending"
        (the next run records it as uncertain)."""
        if self.outcomes:
            self.step(finished=self.outcomes, now=self.run.now())
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
        built: tuple[bytes, str] | None = None
        if subscriber.status == "active":
            built = self.run.message(subscriber)
            self.tally["built"] += 1
        # claim it (and record what is known) while the server still works on the message in flight
        claimed = self.step(finished=self.outcomes, claim=email, now=self.run.now())
        self.outcomes = []
        self.complete()  # the answer to the message in flight
        if not claimed:
            return  # someone else moved it: never send a row we did not claim
        if built is None:
            self._done(email, "failed", "not sent: no longer an active subscriber", None)
            return
        data, mid = built
        try:
            if self.pipelined is not None:
                self.pipelined.start(data, sender=self.sender, recipients=[email], message_id=mid)
                self.inflight = (email, data, mid)
                return
            self.transport.send(data, sender=self.sender, recipients=[email], message_id=mid)
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, exc, attempt=1)
            return
        self._done(email, "sent", None, mid)

    def complete(self) -> None:
        if self.inflight is None or self.pipelined is None:
            return
        email, data, mid = self.inflight
        self.inflight = None
        try:
            self.pipelined.finish()
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, exc, attempt=1)
            return
        self._done(email, "sent", None, mid)

    def _back_to_pending(self, email: str, error: str) -> None:
        self.store.ledger.transition(self.key, email, expect="sending", to="pending", now=self.run.now(), error=error)

    def _failed(self, email: str, data: bytes, mid: str, exc: SendError | TransportSetupError, *,
                attempt: int) -> None:
        """Decide what a failed attempt means, retrying temporary failures (synchronously) with backoff."""
        while True:
            if isinstance(exc, PermanentFailure):
                self._done(email, "failed", str(exc), mid)
                return
            if isinstance(exc, UncertainDelivery):
                self._done(email, "uncertain", str(exc), mid)
                return
            if isinstance(exc, TransportSetupError):
                self._back_to_pending(email, "transport setup failed")
                raise exc
            assert isinstance(exc, TemporaryFailure), exc
            if attempt >= self.settings.max_attempts:
                if isinstance(exc, ConnectionFailure):  # nothing got out: put it back and stop the run
                    self._back_to_pending(email, str(exc))
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
