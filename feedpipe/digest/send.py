"""Send an edition exactly once per subscriber, through the send ledger in the store.

Each subscriber's row moves pending → sending → sent | failed | uncertain by compare-and-set, and only
the process holding the edition's claim (a lease it renews) sends. A run that is killed leaves at most
the one row it was sending in "sending": the next run (after the lease expires) marks it uncertain
rather than resend it, and carries on with the pending rows. Messages are built and sent one at a
time, so memory does not grow with the list.

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

from feedpipe.digest.build import prepare
from feedpipe.digest.message import as_bytes, envelope_sender
from feedpipe.digest.model import SendReport, Subscriber
from feedpipe.digest.settings import DigestSettings
from feedpipe.errors import FeedpipeError
from feedpipe.mailer import (
    ConnectionFailure,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    TransportSetupError,
    UncertainDelivery,
)
from feedpipe.store.digest import normalize_email

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
    empty = not prepared.general.items and not prepared.candidates

    if only is not None:
        report = SendReport(edition=edition_key, dry_run=dry_run)
        for address in only:
            email = normalize_email(address)
            subscriber = store.get_subscriber(email) or Subscriber(email=email, status="active", token="preview")
            msg = prepared.message(subscriber, current(), edition_for_id=f"{edition_key}-test")
            report = replace(report, built=report.built + 1)
            if not dry_run:
                transport.send(as_bytes(msg), sender=sender, recipients=[email], message_id=msg["Message-ID"])
                report = replace(report, sent=report.sent + 1)
        return report

    if dry_run:
        built = 0
        for subscriber in store.iter_subscribers("active"):
            as_bytes(prepared.message(subscriber, current()))
            built += 1
        return SendReport(edition=edition_key, dry_run=True, built=built, skipped=empty and settings.skip_if_empty)

    edition = store.edition(edition_key)
    if edition is not None and edition.status in ("sent", "skipped"):
        counts = store.ledger_counts(edition_key)
        return SendReport(edition=edition_key, already=counts["sent"] + counts["failed"] + counts["uncertain"],
                          skipped=edition.status == "skipped")
    if empty and settings.skip_if_empty:
        if store.claim_edition(edition_key, current(), lease=timedelta(minutes=settings.lease_minutes)):
            store.finish_edition(edition_key, "skipped", now=current())
        return SendReport(edition=edition_key, skipped=True)

    lease = timedelta(minutes=settings.lease_minutes)
    if not store.claim_edition(edition_key, current(), lease=lease):
        return SendReport(edition=edition_key, not_claimed=True,
                          errors=("another process is sending this edition (its lease has not expired)",))
    recovered = store.ledger_recover(edition_key, now=current())
    store.ledger_enqueue(edition_key, now=current())
    before = store.ledger_counts(edition_key)
    already = before["sent"] + before["failed"] + before["uncertain"] - recovered
    tally = {"sent": 0, "failed": 0, "uncertain": recovered, "retried": 0}
    errors: list[str] = []
    last_renew = clock()
    try:
        after = ""
        while True:
            page = store.ledger_pending(edition_key, after=after, limit=PAGE)
            if not page:
                break
            for email in page:
                after = email
                if clock() - last_renew > RENEW_EVERY_SECONDS:
                    store.renew_edition_lease(edition_key, current(), lease=lease)
                    last_renew = clock()
                _send_one(store, prepared, transport, sender, email, current, sleep, tally, errors)
    finally:
        transport.close()
    counts = store.ledger_counts(edition_key)
    if counts["pending"] == 0 and counts["sending"] == 0:
        store.finish_edition(edition_key, "sent", now=current(), subject=prepared.rendered(prepared.general).subject)
    else:
        store.release_edition(edition_key)
    return SendReport(edition=edition_key, sent=tally["sent"], failed=tally["failed"], uncertain=tally["uncertain"],
                      retried=tally["retried"], already=already, built=tally["sent"] + tally["failed"],
                      errors=tuple(errors[:50]))


def _send_one(store, prepared, transport, sender, email, current, sleep, tally, errors) -> None:
    key, settings = prepared.key, prepared.settings
    subscriber = store.get_subscriber(email)
    if not store.ledger_claim(key, email, now=current()):
        return  # someone else moved it: never send a row we did not claim
    if subscriber is None or subscriber.status != "active":
        store.ledger_transition(key, email, expect="sending", to="failed", now=current(),
                                error="not sent: no longer an active subscriber")
        tally["failed"] += 1
        return
    msg = prepared.message(subscriber, current())
    data, mid = as_bytes(msg), msg["Message-ID"]
    del msg
    for attempt in range(1, settings.max_attempts + 1):
        try:
            transport.send(data, sender=sender, recipients=[subscriber.email], message_id=mid)
        except PermanentFailure as exc:
            store.ledger_transition(key, email, expect="sending", to="failed", now=current(), error=str(exc),
                                    message_id=mid)
            tally["failed"] += 1
            errors.append(f"{email}: {exc.message}")
            return
        except UncertainDelivery as exc:
            store.ledger_transition(key, email, expect="sending", to="uncertain", now=current(), error=str(exc),
                                    message_id=mid)
            tally["uncertain"] += 1
            errors.append(f"{email}: {exc.message}")
            return
        except TemporaryFailure as exc:
            if attempt < settings.max_attempts:
                tally["retried"] += 1
                sleep(settings.retry_base_seconds * 2 ** (attempt - 1))
                continue
            if isinstance(exc, ConnectionFailure):  # nothing got out: put it back and stop the run
                store.ledger_transition(key, email, expect="sending", to="pending", now=current(), error=str(exc))
                raise FeedpipeError(
                    f"edition {key}: {exc.message}; stopped after {tally['sent']} sent, the rest stay pending",
                    exc.hint or "fix the mail server, then run the send again: it resumes where it stopped",
                ) from exc
            store.ledger_transition(key, email, expect="sending", to="failed", now=current(),
                                    error=f"gave up after {attempt} tries: {exc}", message_id=mid)
            tally["failed"] += 1
            errors.append(f"{email}: {exc.message}")
            return
        except TransportSetupError:
            store.ledger_transition(key, email, expect="sending", to="pending", now=current(),
                                    error="transport setup failed")
            raise
        store.ledger_transition(key, email, expect="sending", to="sent", now=current(), message_id=mid)
        tally["sent"] += 1
        return
