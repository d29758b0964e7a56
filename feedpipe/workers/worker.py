"""`feedpipe worker`: a long-running process that takes work from the database (PostgreSQL).

Each step it looks, in this order, for: a batch of an edition the workers are sending (rows claimed
with FOR UPDATE SKIP LOCKED, sent at the shared rate), then a task the leader enqueued (a due source
to ingest, whose host has no other request in flight; a changed feed to rebuild). Its claims carry
an expiry it renews while it works (a thread beside the work), so a killed worker's claims return to
the pool: at once for the workers on its host (its pid is gone), after the expiry elsewhere. SIGTERM
finishes the message or source in hand, gives every claim back at once and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import FrameType

from feedpipe import ingest as ingest_service
from feedpipe import pipeline
from feedpipe.app import App
from feedpipe.bounces.service import return_paths
from feedpipe.digest.send import send_claimed
from feedpipe.mailer import Transport, make_transport
from feedpipe.store.leases import make_holder
from feedpipe.store.work import Task

log = logging.getLogger(__name__)

TASK_KINDS = ("ingest", "feed", "feeds")
SEND_RATE_BUCKET = "send"


@dataclass(kw_only=True)
class WorkerTally:
    """What one worker did, for its summary line."""

    sources: int = 0
    feeds: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.sources} sources ingested, {self.feeds} feed rebuilds, {self.batches} send batches: "
                f"{self.sent} sent, {self.failed} failed, {self.uncertain} uncertain")


class Worker:
    """Takes work from the store until stopped. `step()` does one unit and says whether there was any."""

    def __init__(self, app: App, *, holder: str | None = None, batch: int = 200,
                 claim_ttl: timedelta = timedelta(seconds=60), poll_seconds: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.app = app
        self.holder = holder or make_holder("worker")
        self.batch = batch
        self.claim_ttl = claim_ttl
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.stopping = threading.Event()
        self.tally = WorkerTally()
        self._transport: Transport | None = None
        self._allowance = 0

    # -- one unit of work -----------------------------------------------------------------------------

    def step(self) -> bool:
        """Send one batch, or run one task; False when there was nothing to do."""
        return self._send_batch() or self._run_task()

    def _send_batch(self) -> bool:
        store, now = self.app.store, self.app.clock()
        for key in store.work.queued_editions():
            emails, recovered = store.work.claim_ledger_batch(key, self.holder, now=now, ttl=self.claim_ttl,
                                                              limit=self.batch)
            self.tally.uncertain += recovered
            if recovered:
                log.warning("edition %s: %d message(s) a stopped worker left in flight are now uncertain "
                            "(`feedpipe digest uncertain`)", key, recovered)
            if not emails:
                continue
            s = self.app.settings
            report = send_claimed(store, s.digest, self._mail(), key, now, holder=self.holder, pace=self._pace,
                                  stop=self.stopping.is_set,
                                  feeds_public_url=s.feeds_public_url, templates_dir=s.templates_dir,
                                  return_paths=return_paths(self.app))
            self.tally.batches += 1
            self.tally.sent += report.sent
            self.tally.failed += report.failed
            self.tally.uncertain += report.uncertain
            log.info("edition %s: batch of %d: %d sent, %d failed, %d uncertain", key, len(emails), report.sent,
                     report.failed, report.uncertain)
            return True
        return False

    def _run_task(self) -> bool:
        store, now = self.app.store, self.app.clock()
        task = store.work.claim_task(self.holder, now=now, ttl=self.claim_ttl, kinds=TASK_KINDS)
        if task is None:
            return False
        try:
            outcome = self._do(task, now)
        except Exception as exc:  # one bad task never stops the worker; the task is closed with the reason
            log.exception("task %s %s failed", task.kind, task.key)
            outcome = f"error: {exc!r}"
            self.tally.errors.append(f"{task.kind} {task.key}: {exc!r}")
        if not store.work.finish_task(task.id, self.holder, now=self.app.clock(), outcome=outcome):
            log.warning("task %s %s: the claim was taken over before it finished", task.kind, task.key)
        return True

    def _do(self, task: Task, now: datetime) -> str:
        if task.kind == "ingest":
            source = next((s for s in self.app.settings.sources if s.name == task.key), None)
            if source is None:
                return "no such source in this worker's configuration"
            report = ingest_service.ingest(self.app, now=now, sources=[source], force=True)
            self.tally.sources += 1
            result = report.results[0] if report.results else None
            return f"{result.status}: {result.new} new, {result.updated} updated" if result else "nothing"
        if task.kind == "feed":  # one changed feed, "kind:code"
            kind, _, code = task.key.partition(":")
            published = pipeline.publish_feeds(self.app, now=now, only_dirty=True, keys=[(kind, code)])
            self.tally.feeds += 1
            return published.summary()
        if task.kind == "feeds":
            published = pipeline.publish_feeds(self.app, now=now, only_dirty=True)
            self.tally.feeds += 1
            return published.summary()
        return f"unknown task kind {task.kind!r}"

    # -- the shared rate, the transport, the heartbeat ------------------------------------------------

    def _pace(self) -> None:
        """Wait for a token of the shared send rate ([mail] rate_per_second across all workers)."""
        rate = self.app.settings.mail.rate_per_second
        if rate <= 0:
            return
        while self._allowance <= 0 and not self.stopping.is_set():
            granted, wait = self.app.store.work.take_tokens(SEND_RATE_BUCKET, max(1, int(rate // 4)),
                                                            rate=rate, burst=max(1.0, rate), now=self.app.clock())
            self._allowance += granted
            if not granted:
                self.sleep(min(wait, 1.0))
        self._allowance -= 1

    def _mail(self) -> Transport:
        """One transport for the worker's life, without its own rate limit (the shared one applies)."""
        if self._transport is None:
            mail = self.app.settings.mail
            self._transport = make_transport(replace(mail, rate_per_second=0.0))
        return self._transport

    def _heartbeat(self) -> None:
        """Say this worker is alive. What it holds is read from its claims (`WorkQueue.workers`), so the
        work itself writes nothing extra per task."""
        self.app.store.work.heartbeat(self.holder, role="worker", now=self.app.clock())

    def _keep_claims(self) -> None:
        every = max(1.0, self.claim_ttl.total_seconds() / 3)
        while not self.stopping.wait(every):
            try:
                self.app.store.work.renew(self.holder, now=self.app.clock(), ttl=self.claim_ttl)
                self._heartbeat()
            except Exception:  # the next renewal tries again; claims only lapse after the whole ttl
                log.exception("could not renew this worker's claims")

    # -- life cycle ---------------------------------------------------------------------------------

    def run(self, *, max_idle_steps: int | None = None) -> WorkerTally:
        """Work until stopped (or, with `max_idle_steps`, until that many idle polls in a row)."""
        keeper = threading.Thread(target=self._keep_claims, name="claims", daemon=True)
        keeper.start()
        idle = 0
        try:
            self._heartbeat()
            while not self.stopping.is_set():
                try:
                    if self.step():
                        idle = 0
                        continue
                except Exception as exc:  # noqa: BLE001 - a failed step (the store refused a claim, a send
                    # batch broke) must not end the worker: said, counted, tried again after a poll
                    log.exception("worker step failed: %s; trying again in %.1f s", exc, self.poll_seconds)
                    self.tally.errors.append(f"step: {exc!r}")
                idle += 1
                if max_idle_steps is not None and idle >= max_idle_steps:
                    break
                self.stopping.wait(self.poll_seconds)
        finally:
            self.stopping.set()
            returned = self.app.store.work.release(self.holder)
            self.app.store.work.unregister(self.holder)
            if self._transport is not None:
                self._transport.close()
            if returned:
                log.info("gave back %d claim(s)", returned)
        return self.tally

    def run_until_stopped(self, *, max_idle_steps: int | None = None) -> WorkerTally:
        """`run` with SIGTERM/SIGINT finishing the unit in hand, then returning every claim."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: finishing the unit in hand, then giving back the claims", signum)
            self.stopping.set()

        old = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self.run(max_idle_steps=max_idle_steps)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
