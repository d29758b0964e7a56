"""`feedpipe serve`'s scheduled work: APScheduler (3.x) triggers, the store lease, a clean stop.

What runs:
- `ingest` every `ingest_every` minutes (per-source intervals and Retry-After are honoured by
  `due_sources`), then the feeds are rebuilt; never two at once (max_instances=1, coalesce);
- `digest` at the digest's weekly slot (the CronTrigger fields come from `DigestSchedule.cron()`), again
  every `DIGEST_RECHECK_MINUTES` (a failed or unsent edition is retried within its grace), and once at
  start-up (an edition missed while the process was down is sent if still within its grace);
- `lease` renews this process's hold on the scheduled work.

APScheduler only says *when to ask*: it fires twice on an autumn DST overlap and knows nothing of
other processes, so each digest run asks the digest's schedule and the store (`run_digest_job`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from feedpipe import ingest as ingest_service
from feedpipe.app import App
from feedpipe.bounces.service import Tally, fetch_bounces
from feedpipe.core.settings import Settings
from feedpipe.digest.editions import DigestSchedule
from feedpipe.scheduler.jobs import DigestRun, DigestSender, ingest_every, run_digest_job, run_ingest_job
from feedpipe.scheduler.lease import SchedulerLease, make_holder

log = logging.getLogger(__name__)

DIGEST_RECHECK_MINUTES = 15
T = TypeVar("T")


def next_runs(settings: Settings, now: datetime) -> list[tuple[str, datetime]]:
    """Each job's next run after `now`, in the digest's local time (for `feedpipe schedule`)."""
    schedule = DigestSchedule.of(settings.digest)
    out = [("ingest", now.astimezone(schedule.tz))]  # serve ingests on start, then every N minutes
    if settings.schedule.digest:
        out.append(("digest", schedule.next(now).at))
    return out


class Service:
    """The scheduled work of `feedpipe serve`: takes the store lease, runs the jobs, stops cleanly.

    `start()` raises LeaseBusy when another process holds the lease. `stop()` lets the running job
    finish its step, then releases the lease. `run_until_stopped()` does both around SIGTERM/SIGINT.
    `send` replaces `pipeline.send_due_digest` (tests).
    """

    def __init__(self, app: App, *, holder: str | None = None, send: DigestSender | None = None) -> None:
        self.app = app
        self.holder = holder or make_holder()
        self.send = send
        self.schedule = DigestSchedule.of(app.settings.digest)
        self.lease = SchedulerLease(app.store, self.holder, app.settings.schedule.lease_ttl)
        self.stopping = threading.Event()
        self.lost_lease = False
        # what the latest digest runs found or did, oldest first (bounded: it runs every few minutes)
        self.digest_runs: deque[DigestRun] = deque(maxlen=100)
        self._lock = threading.Lock()  # one job at a time touches the pipeline
        self._scheduler: BackgroundScheduler | None = None

    # -- the jobs APScheduler calls; each checks the stop flag and the lease first ---------------------

    def _guarded(self, name: str, work: Callable[[datetime], T]) -> T | None:
        if self.stopping.is_set():
            return None
        with self._lock:
            now = self.app.clock()
            if not self.lease.renew(now):
                self._lose_lease(f"{name} skipped")
                return None
            try:
                return work(now)
            except Exception:
                log.exception("job %s failed; it runs again at its next time", name)
                return None

    def ingest(self) -> ingest_service.IngestReport | None:
        return self._guarded("ingest", lambda now: run_ingest_job(self.app, now=now))

    def digest(self) -> DigestRun | None:
        run = self._guarded(
            "digest", lambda now: run_digest_job(self.app, now=now, holder=self.holder, send=self.send)
        )
        if run is not None:
            self.digest_runs.append(run)
        return run

    def bounces(self) -> Tally | None:
        return self._guarded("bounces", lambda now: fetch_bounces(self.app, now=now))

    def renew(self) -> None:
        """Runs beside a long job (not under its lock), so a long send never lets the lease lapse."""
        if not self.stopping.is_set() and not self.lease.renew(self.app.clock()):
            self._lose_lease("taken by another process")

    def _lose_lease(self, what: str) -> None:
        self.lost_lease = True
        log.error("lost the scheduler lease (%s); the service stops", what)
        self.stopping.set()

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self, *, ingest_now: bool = True) -> None:
        """Take the lease (or raise LeaseBusy), start the jobs, and check for a missed digest."""
        settings = self.app.settings
        now = self.app.clock()
        self.lease.acquire(now)
        tz = self.schedule.tz
        scheduler = BackgroundScheduler(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1})
        first = {"next_run_time": now} if ingest_now else {}  # next_run_time=None would pause the job
        scheduler.add_job(self.ingest, IntervalTrigger(minutes=ingest_every(settings), timezone=tz),
                          id="ingest", name="ingest + feeds", misfire_grace_time=None, **first)
        if settings.schedule.digest:
            scheduler.add_job(self.digest, CronTrigger(**self.schedule.cron().as_kwargs()), id="digest",
                              name="weekly digest", misfire_grace_time=int(self.schedule.grace.total_seconds()))
            scheduler.add_job(self.digest, IntervalTrigger(minutes=DIGEST_RECHECK_MINUTES, timezone=tz),
                              id="digest-recheck", name="digest re-check")
        if settings.bounces.configured and settings.bounces.fetch_minutes:
            scheduler.add_job(self.bounces, IntervalTrigger(minutes=settings.bounces.fetch_minutes, timezone=tz),
                              id="bounces", name="bounce mailbox")
        renew_every = max(10, settings.schedule.lease_ttl_seconds // 3)
        scheduler.add_job(self.renew, IntervalTrigger(seconds=renew_every), id="lease", name="renew lease")
        self._scheduler = scheduler
        scheduler.start()
        if settings.schedule.digest:  # an edition missed while this process was down, if within its grace
            scheduler.add_job(self.digest, id="digest-catch-up", name="digest catch-up")

    def stop(self) -> None:
        """Finish the running job, then stop and release the lease. Safe to call twice."""
        self.stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        with self._lock:
            self.lease.release()

    def run_until_stopped(self, *, on_started: Callable[[], None] | None = None) -> None:
        """Start, wait for SIGTERM/SIGINT (or `stopping`), stop cleanly. Main thread only."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: finishing the current step, then exiting", signum)
            self.stopping.set()

        handlers = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            if on_started:
                on_started()
            while not self.stopping.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, old in handlers.items():
                signal.signal(sig, old)

    def next_runs(self) -> list[tuple[str, datetime]]:
        """Each started job's next run time (empty before `start`)."""
        if self._scheduler is None:
            return []
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs() if job.next_run_time]

    def fire(self, job_id: str) -> None:
        """Run job `job_id` now, through the scheduler, as if its trigger had fired (tests, operators).
        APScheduler keeps real time; the job itself still takes `now` from the app's clock."""
        if self._scheduler is None:
            raise RuntimeError("the service is not started")
        self._scheduler.modify_job(job_id, next_run_time=datetime.now(self.schedule.tz))
