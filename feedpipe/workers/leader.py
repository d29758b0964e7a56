"""The one leader of a PostgreSQL store (`feedpipe serve` with `[schedule] workers = true`): it decides
what is due and enqueues it; `feedpipe worker` processes do the work.

Leadership is a PostgreSQL advisory lock held on the leader's own connection (`store.work.LeaderLock`).
Every other such `serve` is a follower that tries the lock every `poll_seconds`: when the leader's
connection dies (kill -9, a lost network) the server drops the lock and a follower leads within
seconds. Nothing a leader does can run twice: a source is enqueued only while no task for it is open,
the digest's slot is claimed once in `job_runs` (as the single-process scheduler does), and an edition
is opened for the workers once (its rows are inserted once per subscriber).

Each tick (every `tick_seconds`):
- every due source (`ingest.due`, the one owner of "due") without an open task becomes an `ingest`
  task carrying its host, so that workers keep to one request in flight per host;
- each changed feed becomes a `feed` task (key "country:UA"), claimed by one worker; when only
  bookkeeping keys are left, one whole-folder `feeds` pass (feeds no longer in use, the file record);
- the digest: at its slot the edition is built, its send ledger filled and the edition handed to the
  workers (editions.holder = QUEUE_HOLDER); while rows remain its lease is renewed, and once none
  remain it is finished (sent) and the slot's run recorded ok.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from urllib.parse import urlsplit

from feedpipe import pipeline
from feedpipe.app import App
from feedpipe.bounces.service import return_paths
from feedpipe.digest.build import load_edition
from feedpipe.feeds.publish import FEED_KINDS
from feedpipe.scheduler.jobs import DIGEST_JOB, decide_digest, due_sources
from feedpipe.store.leases import make_holder
from feedpipe.store.work import QUEUE_HOLDER, LeaderLock

log = logging.getLogger(__name__)

EDITION_LEASE = timedelta(minutes=30)


@dataclass(kw_only=True)
class TickReport:
    """What one leader tick enqueued or decided."""

    ingest: list[str] = field(default_factory=list)
    feeds: bool = False
    opened: str | None = None  # an edition handed to the workers
    finished: list[str] = field(default_factory=list)  # editions whose every row is settled


def source_host(location: str) -> str | None:
    """The host a source's fetches go to (None for files): the unit of politeness across workers."""
    parts = urlsplit(location)
    return (parts.hostname or None) if parts.scheme in ("http", "https") else None


def tick(app: App, *, now: datetime, holder: str) -> TickReport:
    """One leader tick: enqueue what is due, open or finish the digest. Safe to repeat."""
    store, settings = app.store, app.settings
    report = TickReport()
    due = due_sources(settings, store, now)
    report.ingest = store.work.enqueue_many("ingest", [(s.name, source_host(s.location)) for s in due], now=now)
    dirty = store.catalogue.dirty_keys()
    per_feed = [(f"{kind}:{code}", None) for kind, code in dirty if kind in FEED_KINDS]
    if per_feed:  # one claim per changed feed, so that several workers rebuild them side by side
        report.feeds = bool(store.work.enqueue_many("feed", per_feed, now=now))
    elif dirty:  # only bookkeeping keys left: one whole-folder pass (unused feeds, the record of the files)
        report.feeds = store.work.enqueue("feeds", "dirty", now=now)
    if settings.schedule.digest:
        report.finished = _finish_editions(app, now=now, holder=holder)
        report.opened = _open_due_edition(app, now=now, holder=holder)
    store.work.prune_tasks(before=now - timedelta(days=1))
    return report


def _open_due_edition(app: App, *, now: datetime, holder: str) -> str | None:
    """At the digest's slot: build the edition and hand its send ledger to the workers (once)."""
    store, settings = app.store, app.settings
    decision = decide_digest(now, settings, store)
    if not decision.due:
        return None
    key = decision.slot.key
    stale = max(settings.schedule.lease_ttl * 2, timedelta(minutes=10))
    if not store.leases.claim_job_run(DIGEST_JOB, key, holder=holder, now=now, stale_after=stale):
        return None
    pipeline.build_edition_view(store, settings, key, now=now)
    loaded = load_edition(store, settings.digest, key, now, feeds_public_url=settings.feeds_public_url,
                          templates_dir=settings.templates_dir)
    edition = store.editions.get(key)
    if edition is not None and edition.status in ("sent", "skipped"):
        store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="ok", detail="already done")
        return None
    if not loaded.general.items and settings.digest.skip_if_empty:
        store.editions.finish(key, "skipped", now=now)
        store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="skipped", detail="empty")
        return None
    if not store.editions.claim(key, now, lease=EDITION_LEASE, holder=QUEUE_HOLDER) and \
            key not in store.work.queued_editions():
        store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="failed",
                                    detail="another process is sending this edition")
        return None
    added = store.ledger.enqueue(key, now=now)
    return_paths(app).prepare(key)  # each row's VERP return path, before any worker sends
    log.info("edition %s handed to the workers: %d subscriber(s)", key, added)
    return key


def _finish_editions(app: App, *, now: datetime, holder: str) -> list[str]:
    """Renew the lease of each edition the workers are sending; finish those with no row left."""
    store, settings = app.store, app.settings
    done = []
    for key in store.work.queued_editions():
        if store.work.unclaimed_work(key):
            store.editions.renew(key, now, lease=EDITION_LEASE, holder=QUEUE_HOLDER)
            continue
        loaded = load_edition(store, settings.digest, key, now, feeds_public_url=settings.feeds_public_url,
                              templates_dir=settings.templates_dir)
        store.editions.finish(key, "sent", now=now, subject=loaded.rendered(loaded.general).subject)
        counts = store.ledger.counts(key)
        detail = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        run = store.leases.job_run(DIGEST_JOB, key)
        if run is not None and run.status == "running":
            store.leases.finish_job_run(DIGEST_JOB, key, holder=run.holder, now=now, status="ok", detail=detail)
        log.info("edition %s sent by the workers: %s", key, detail)
        done.append(key)
    return done


class Leader:
    """Leader or follower of one store: leads while it holds the advisory lock, else waits for it."""

    def __init__(self, app: App, *, holder: str | None = None, tick_seconds: float = 5.0,
                 poll_seconds: float = 2.0) -> None:
        self.app = app
        self.holder = holder or make_holder("leader")
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self.lock = LeaderLock(app.store.db)
        self.stopping = threading.Event()
        self.leading = False
        self.on_lead: Callable[[], None] | None = None

    def step(self) -> TickReport | None:
        """Lead (one tick) if this process holds or can take the lock; else stay a follower."""
        now = self.app.clock()
        leading = self.lock.try_lead()
        if leading != self.leading:
            log.warning("%s is now the %s", self.holder, "leader" if leading else "follower")
            self.leading = leading
            if leading and self.on_lead is not None:
                self.on_lead()
        self.app.store.work.heartbeat(self.holder, role="leader" if leading else "follower", now=now,
                                      doing="enqueueing due work" if leading else None)
        if not leading:
            return None
        try:
            return tick(self.app, now=now, holder=self.holder)
        except Exception:
            log.exception("leader tick failed; the next tick tries again")
            return None

    def run_until_stopped(self) -> None:
        """Tick until SIGTERM/SIGINT (or `stopping`); then let go of the lock and the worker row."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stepping down", signum)
            self.stopping.set()

        old = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping.is_set():
                self.step()
                self.stopping.wait(self.tick_seconds if self.leading else self.poll_seconds)
        finally:
            self.lock.release()
            self.app.store.work.unregister(self.holder)
            for sig, handler in old.items():
                signal.signal(sig, handler)
