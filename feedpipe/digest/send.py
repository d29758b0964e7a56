"""Send an edition: three entry points over one core (the loaded edition, the envelope sender and the
run's clock), none of them switched by flags.

    send_edition  the real send, exactly once per subscriber through the send ledger
    dry_run       who would get what: builds every message, sends none, writes nothing to the ledger
    send_test     one copy to each given address, outside the ledger (a Message-ID of its own)

The real send:

Each subscriber's row moves pending → sending → sent | failed | uncertain by compare-and-set, and only
the process holding the edition's claim (a lease it renews, held as host:pid:random) sends. A row
becomes "sending" in its message's SMTP transaction, at DATA, just before the body (the first byte that
can deliver it); its outcome "sent" is written in one commit with the next message's claim (one commit
per message, while the server answers DATA), or when the run ends or stops; any other outcome at once.
So a run that is killed leaves at most one row "sending", a message the server got or was about to (its
body went out, and its answer was not read or not yet written): the next run marks it uncertain rather
than resend it, and carries on with the pending rows, among them any message whose transaction had not
reached its DATA. (Killed between two messages, the one before is the uncertain one, though answered.)
The next run may start at once when the killed sender was a process of this host; one on another host
is waited out until its lease expires. Messages are built and sent one at a time: flat memory.

    4xx          retried with backoff (2, 4, 8 s ... injected `sleep`), then failed
    5xx          failed; the send goes on
    lost after DATA, before the reply   uncertain; listed by `feedpipe digest uncertain`, resolved by hand
    no server    the run stops, the row goes back to pending; the next run resumes
    a message that cannot be built   that subscriber failed, with the reason; 3 in a row: the run stops,
                                     the rest pending (the edition itself is broken)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import SendReport, Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.digest.build import SendRun, start_run
from feedpipe.digest.ports import EditionStore, LedgerStep, LedgerStore, PipelinedTransport, ReturnPaths
from feedpipe.mailer import (
    ConnectionFailure,
    PermanentFailure,
    SendError,
    TemporaryFailure,
    Transport,
    TransportSetupError,
    UncertainDelivery,
)
from feedpipe.store.leases import make_holder
from feedpipe.store.ledger import Finished
from feedpipe.store.subscribers import normalize_email

log = logging.getLogger(__name__)
PAGE = 500
BUILD_FAILURES_TO_STOP = 3  # messages in a row that cannot be built: the edition, not its subscribers
RENEW_EVERY_SECONDS = 30.0


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
    run = start_run(store, digest_settings, edition_key, now, monotonic, feeds_public_url, public_url, templates_dir)
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
        run = start_run(store, digest_settings, edition_key, now, monotonic, feeds_public_url, public_url,
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
    return_paths: ReturnPaths | None = None,
) -> SendReport:
    """Send edition `edition_key` to every active subscriber who has not had it yet, exactly once each,
    through the ledger (see the module's notes). `sleep` is used for retry backoff. `return_paths` gives
    each message its own envelope sender (VERP, for bounces); without it every message has From's."""
    settings = digest_settings
    run = start_run(store, settings, edition_key, now, monotonic, feeds_public_url, public_url, templates_dir)
    edition = store.editions.get(edition_key)
    if edition is not None and edition.status in ("sent", "skipped"):
        counts = store.ledger.counts(edition_key)
        return SendReport(edition=edition_key, already=counts["sent"] + counts["failed"] + counts["uncertain"],
                          skipped=edition.status == "skipped")
    lease = timedelta(minutes=settings.lease_minutes)
    holder = make_holder()
    if run.empty and settings.skip_if_empty:
        if store.editions.claim(edition_key, run.now(), lease=lease, holder=holder):
            store.editions.finish(edition_key, "skipped", now=run.now())
        return SendReport(edition=edition_key, skipped=True)

    if not store.editions.claim(edition_key, run.now(), lease=lease, holder=holder):
        return SendReport(edition=edition_key, not_claimed=True,
                          errors=("another process is sending this edition (its lease has not expired)",))
    recovered = store.ledger.recover(edition_key, now=run.now())
    store.ledger.enqueue(edition_key, now=run.now())
    if return_paths is not None:
        return_paths.prepare(edition_key)
    before = store.ledger.counts(edition_key)
    already = before["sent"] + before["failed"] + before["uncertain"] - recovered
    with store.ledger.session(edition_key) as step:
        sender_run = _Sender(store, step, run, transport, sleep, return_paths)
        sender_run.tally["uncertain"] = recovered
        _loop(store, sender_run, transport, run, lease, holder)
    counts = store.ledger.counts(edition_key)
    if counts["pending"] == 0 and counts["sending"] == 0:
        subject = run.loaded.rendered(run.loaded.general).subject
        store.editions.finish(edition_key, "sent", now=run.now(), subject=subject)
    else:
        store.editions.release(edition_key, holder)
    t = sender_run.tally
    return SendReport(edition=edition_key, sent=t["sent"], failed=t["failed"], uncertain=t["uncertain"],
                      retried=t["retried"], already=already, built=t["built"], errors=tuple(sender_run.errors[:50]))


def send_claimed(
    store: LedgerStore,
    digest_settings: DigestSettings,
    transport: Transport,
    edition_key: str,
    now: datetime,
    *,
    holder: str,
    pace: Callable[[], None] | None = None,
    stop: Callable[[], bool] | None = None,
    feeds_public_url: str | None = None,
    templates_dir: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    return_paths: ReturnPaths | None = None,
) -> SendReport:
    """A worker's share of a send (`feedpipe worker`): the pending rows `holder` claimed
    (`WorkQueue.claim_ledger_batch`), each through the same pending → sending → outcome steps as
    `send_edition`. The edition is opened and finished by the leader; `pace` waits for the shared rate;
    `stop` ends the batch after the message in hand. The transport stays open for the next batch.
    `return_paths`: each message's VERP envelope sender (the leader prepared them when it queued the rows)."""
    run = start_run(store, digest_settings, edition_key, now, monotonic, feeds_public_url, None, templates_dir)
    with store.ledger.session(edition_key) as step:
        sender_run = _Sender(store, step, run, transport, sleep, return_paths)
        try:
            for subscriber in store.ledger.pending_subscribers(edition_key, limit=100_000, claimed_by=holder):
                if stop is not None and stop():
                    break
                if pace is not None:
                    pace()
                sender_run.one(subscriber)
            sender_run.complete()
        finally:
            sender_run.close()
    t = sender_run.tally
    return SendReport(edition=edition_key, sent=t["sent"], failed=t["failed"], uncertain=t["uncertain"],
                      retried=t["retried"], built=t["built"], errors=tuple(sender_run.errors[:50]))


def _loop(store: LedgerStore, sender_run: _Sender, transport: Transport, run: SendRun, lease: timedelta,
          holder: str) -> None:
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
                    if not store.editions.renew(run.key, run.now(), lease=lease, holder=holder):
                        raise FeedpipeError(f"edition {run.key}: another process took over the send",
                                            "it carries on with the subscribers still pending")
                    last_renew = run.monotonic()
                sender_run.one(subscriber)
        sender_run.complete()
    finally:
        sender_run.close()
        transport.close()


class _Sender:
    """One real send's loop body.

    A row is claimed (pending → sending) in its message's SMTP transaction: in the transport's
    `on_start`, once MAIL and RCPT are accepted, while the server answers DATA and just before the body
    goes out (a transport that cannot split a send: just before `send`). "sent" is written in one commit
    with the next message's claim, or when the run ends, stops or waits to retry; any other outcome at
    once. A process killed outright (SIGKILL, power cut) thus leaves at most one row "sending": the
    message whose body went out (or was about to) and whose answer was read but not yet written, or not
    read: the server got it or was about to, so the next run marks it uncertain, never resends it; a
    message refused or cut off before its DATA is still pending (or recorded failed), nothing delivered.
    A transport that can split a send (`start`/`finish`, as SMTP can) gets the next message built and
    made ready (`prepare`) while the server still works on the previous one.
    """

    def __init__(self, store: LedgerStore, step: LedgerStep, run: SendRun, transport: Transport,
                 sleep: Callable[[float], None], return_paths: ReturnPaths | None = None) -> None:
        self.store, self.step, self.run, self.transport, self.sleep = store, step, run, transport, sleep
        self.return_paths = return_paths
        self.key, self.settings, self.sender = run.key, run.settings, run.sender
        self.tally = {"sent": 0, "failed": 0, "uncertain": 0, "retried": 0, "built": 0}
        self.errors: list[str] = []
        self.claimed: str | None = None  # the row this run moved to "sending" and has not settled yet
        self.unsaved: list[Finished] = []  # outcomes read, written with the next claim (or `flush`)
        self.inflight: tuple[str, bytes, str, str, int] | None = None  # (email, data, Message-ID, sender, attempt)
        self.pipelined = transport if isinstance(transport, PipelinedTransport) else None
        self.build_failures = 0  # messages in a row that could not be built

    def _claim(self, email: str) -> bool:
        """pending → sending, once per message (a retry keeps the claim); False: someone else moved it."""
        if self.claimed == email:
            return True
        moved = self.step(finished=self.unsaved, claim=email, now=self.run.now())  # one commit: both or neither
        self.unsaved = []  # written (had the step failed, they would still be here for `flush`)
        if not moved:
            return False
        self.claimed = email
        return True

    def _done(self, email: str, state: str, error: str | None, mid: str | None) -> None:
        """Record an outcome: "sent" with the next claim (one commit per message), any other at once. A
        message refused before its body never claimed its row: claim it first, so the row still moves
        only sending → outcome."""
        if not self._claim(email):
            return
        self.unsaved.append((email, state, error, mid))
        self.claimed = None
        self.tally[state] += 1
        if error:
            self.errors.append(f"{email}: {error}")
        if state != "sent":
            self.flush()

    def flush(self) -> None:
        """Write the outcomes read and not written yet (the run ends, stops or waits)."""
        if self.unsaved:
            self.step(finished=self.unsaved, now=self.run.now())
            self.unsaved = []

    def _unclaim(self, email: str, error: str) -> None:
        """Nothing was delivered and the run stops: the row goes back to pending for the next run."""
        self.flush()
        if self.claimed == email:
            self.store.ledger.transition(self.key, email, expect="sending", to="pending", now=self.run.now(),
                                         error=error)
            self.claimed = None

    def one(self, subscriber: Subscriber) -> None:
        email = subscriber.email
        built: tuple[bytes, str] | None = None
        why = f"not sent: {subscriber.status}, no longer an active subscriber"
        if subscriber.status == "active":
            try:
                built = self.run.message(subscriber)  # while the server still works on the message in flight
            except Exception as exc:  # noqa: BLE001 - one subscriber's message must not stop the others
                why = self._unbuildable(email, exc)
            else:
                self.tally["built"] += 1
                self.build_failures = 0
        sender = self._sender(email)
        if built is not None and self.pipelined is not None:
            self.pipelined.prepare(built[0], sender=sender, recipients=[email])  # still in the server's turn
        self.complete()  # the answer to the message in flight (written with the next claim)
        if built is None:
            self._done(email, "failed", why, None)
            return
        data, mid = built
        self._attempt(email, data, mid, sender, attempt=1)

    def _unbuildable(self, email: str, exc: Exception) -> str:
        """One subscriber's message could not be built: that row fails with the reason and the send goes
        on. So many in a row that the cause is the edition, not the subscriber: stop, the rest pending."""
        self.build_failures += 1
        log.error("edition %s: the message for %s could not be built: %s", self.key, email, exc, exc_info=exc)
        if self.build_failures >= BUILD_FAILURES_TO_STOP:
            self.complete()
            raise FeedpipeError(
                f"edition {self.key}: the last {self.build_failures} messages could not be built ({exc})",
                "the edition itself looks broken (its template or settings): fix it and run the send again; "
                "the subscribers still pending get it then",
            ) from exc
        return f"not sent: the message could not be built: {exc}"

    def _attempt(self, email: str, data: bytes, mid: str, sender: str, *, attempt: int) -> None:
        try:
            if self.pipelined is not None:
                if self.pipelined.start(data, sender=sender, recipients=[email], message_id=mid,
                                        on_start=lambda: self._claim(email)):
                    self.inflight = (email, data, mid, sender, attempt)
                return  # (not started: someone else moved the row, and nothing went out)
            if not self._claim(email):
                return  # never send a row we did not claim
            self.transport.send(data, sender=sender, recipients=[email], message_id=mid)
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, sender, exc, attempt=attempt)
            return
        self._done(email, "sent", None, mid)

    def _sender(self, email: str) -> str:
        return self.sender if self.return_paths is None else self.return_paths.sender(self.key, email)

    def complete(self) -> None:
        """Read the answer to the message in flight (if any) and write its outcome."""
        if self.inflight is None or self.pipelined is None:
            return
        email, data, mid, sender, attempt = self.inflight
        self.inflight = None
        try:
            self.pipelined.finish()
        except (SendError, TransportSetupError) as exc:
            self._failed(email, data, mid, sender, exc, attempt=attempt)
            return
        self._done(email, "sent", None, mid)

    def close(self) -> None:
        """The run is ending, maybe on an error: settle the message in flight without retrying it, and
        write every outcome not written yet. If even its answer cannot be read, its row stays "sending"
        and the next run marks it uncertain."""
        if self.inflight is None or self.pipelined is None:
            self.flush()
            return
        email, _, mid, _, _ = self.inflight
        self.inflight = None
        try:
            self.pipelined.finish()
        except PermanentFailure as exc:
            self._done(email, "failed", str(exc), mid)
        except TemporaryFailure as exc:
            self._unclaim(email, str(exc))
        except UncertainDelivery as exc:
            self._done(email, "uncertain", str(exc), mid)
        except (SendError, TransportSetupError):
            pass
        else:
            self._done(email, "sent", None, mid)
        self.flush()

    def _failed(self, email: str, data: bytes, mid: str, sender: str, exc: SendError | TransportSetupError, *,
                attempt: int) -> None:
        """Decide what a failed attempt means; a temporary failure is retried (synchronously) with backoff."""
        if isinstance(exc, PermanentFailure):
            self._done(email, "failed", str(exc), mid)
            return
        if isinstance(exc, UncertainDelivery):
            self._done(email, "uncertain", str(exc), mid)
            return
        if isinstance(exc, TransportSetupError):
            self._unclaim(email, "transport setup failed")
            raise exc
        assert isinstance(exc, TemporaryFailure), exc
        if attempt >= self.settings.max_attempts:
            if isinstance(exc, ConnectionFailure):  # nothing got out: put it back and stop the run
                self._unclaim(email, str(exc))
                raise FeedpipeError(
                    f"edition {self.key}: {exc.message}; stopped after {self.tally['sent']} sent, "
                    "the rest stay pending",
                    exc.hint or "fix the mail server, then run the send again: it resumes where it stopped",
                ) from exc
            self._done(email, "failed", f"gave up after {attempt} tries: {exc}", mid)
            return
        self.tally["retried"] += 1
        self.flush()  # nothing waits unwritten through the backoff
        self.sleep(self.settings.retry_base_seconds * 2 ** (attempt - 1))
        self._attempt(email, data, mid, sender, attempt=attempt + 1)
        self.complete()
