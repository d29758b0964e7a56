"""The scheduler: the only user of APScheduler (3.x) and, with cli, the only reader of the clock.

What runs:
- `ingest` every `ingest_minutes` (per-source intervals and Retry-After are honoured by
  `pipeline.ingest`), then the feeds are rebuilt; never two at once (max_instances=1, coalesce);
- `digest` on its weekly day and time in the outlet's time zone (a CronTrigger with that zone);
- `lease` renews this process's hold on the scheduled work.

APScheduler alone does not make a weekly email safe (it fires twice on an autumn DST overlap,
forgets a run missed while the process was down, and two schedulers on one job store both
run). So the scheduler only *asks*; what runs is decided here from the clock and the store:

- the digest's slot is "the latest scheduled instant <= now", keyed by its ISO week in the
  outlet's zone ("2026-W48"), so a week has exactly one slot whatever DST does;
- the slot is run when `now` is within `digest_grace_hours` of it and nobody has claimed it
  (`store.leases.claim_job_run`, one row per slot), then `pipeline.send_due_digest` sends it and the
  edition ledger keeps each subscriber to one message;
- on start-up that check runs once, so a digest missed while the process was down is sent when
  it comes back within the grace, and not after it;
- the scheduled work runs only in the process that holds the store lease `scheduler`; a second
  `serve` (or a `run` wrapped in `hold_lease`) is refused with a message naming the holder.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import ScheduleSettings

if TYPE_CHECKING:
    from feedpipe.store.protocols import Leases, Sources

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class LeaseBusy(FeedpipeError):
    """Another process holds the scheduled work of this store."""

    exit_code = 4  # operational: the CLI prints the message and the hint


# -- settings -------------------------------------------------------------------------------------


def _weekday(value: str) -> int | None:
    v = value.strip().lower()
    for i, (full, short) in enumerate(zip(WEEKDAYS, CRON_DAYS, strict=True)):
        if v in (full, short):
            return i
    return None


def _parse_time(value: Any) -> time | None:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


# -- when is the digest? ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DigestTiming:
    weekday: int  # 0 = Monday
    at: time
    tz: ZoneInfo
    grace: timedelta


@dataclass(frozen=True, kw_only=True)
class Slot:
    key: str  # ISO week of the scheduled local date: "2026-W48"
    at: datetime  # the scheduled instant (aware, in the outlet's zone)


def schedule_settings(settings: Any) -> ScheduleSettings:
    """The app's `[schedule]` settings, or the defaults when the config has none."""
    found = getattr(settings, "schedule", None)
    return found if isinstance(found, ScheduleSettings) else ScheduleSettings()


def digest_timing(settings: Any) -> DigestTiming:
    """Day, time, zone and grace of the weekly digest: `[schedule]` first, then `[digest]`, then
    Friday 08:00 in the outlet's zone with 12 hours of grace."""
    sched = schedule_settings(settings)
    digest = getattr(settings, "digest", None)
    outlet = getattr(settings, "outlet", None)

    day = sched.digest_day
    for name in ("day", "send_day", "weekday"):
        if day is None and isinstance(getattr(digest, name, None), str | int):
            day = getattr(digest, name)
    weekday = day if isinstance(day, int) else _weekday(day) if isinstance(day, str) else None

    at = sched.digest_time
    for name in ("time", "send_time", "at"):
        if at is None:
            at = _parse_time(getattr(digest, name, None))

    if sched.digest_grace_hours is not None:
        grace = timedelta(hours=sched.digest_grace_hours)
    elif isinstance(getattr(digest, "grace", None), timedelta):
        grace = digest.grace
    else:
        grace = timedelta(hours=12)

    tz = sched.timezone or getattr(digest, "timezone", None) or getattr(outlet, "timezone", None) or "UTC"
    return DigestTiming(
        weekday=4 if weekday is None else weekday,
        at=at or time(8, 0),
        tz=ZoneInfo(tz) if isinstance(tz, str) else tz,
        grace=grace,
    )


def local_instant(day, at: time, tz: ZoneInfo) -> datetime:
    """The instant at which a wall clock in `tz` shows `day` `at`: the first one when the time
    occurs twice (autumn overlap); when it does not exist (spring gap), the instant the same
    distance past the gap's start, e.g. 02:30 in a 02:00-03:00 gap is 03:30 new time."""
    from datetime import UTC

    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def digest_slot(now: datetime, timing: DigestTiming) -> Slot:
    """The latest scheduled digest instant at or before `now`, and its edition key."""
    local = now.astimezone(timing.tz)
    day = local.date() - timedelta(days=(local.weekday() - timing.weekday) % 7)
    at = local_instant(day, timing.at, timing.tz)
    if at > now:
        day -= timedelta(days=7)
        at = local_instant(day, timing.at, timing.tz)
    year, week, _ = day.isocalendar()
    return Slot(key=f"{year}-W{week:02d}", at=at)


@dataclass(frozen=True, kw_only=True)
class DigestDecision:
    slot: Slot
    action: str  # due | done | missed | disabled

    @property
    def due(self) -> bool:
        return self.action == "due"


def decide_digest(now: datetime, settings: Any, leases: Leases) -> DigestDecision:
    """Is the latest digest slot due now? `done` when some process claimed it already, `missed` when
    `now` is past the grace (it is then never sent late), else `due`."""
    timing = digest_timing(settings)
    slot = digest_slot(now, timing)
    if not schedule_settings(settings).digest:
        return DigestDecision(slot=slot, action="disabled")
    run = leases.job_run("digest", slot.key)
    if run is not None and run.status != "failed":
        return DigestDecision(slot=slot, action="done")
    if now - slot.at > timing.grace:
        return DigestDecision(slot=slot, action="missed")
    return DigestDecision(slot=slot, action="due")


def _default_send(app: Any, *, now: datetime) -> Any:
    from feedpipe import pipeline

    return pipeline.send_due_digest(app, now=now)


def run_digest_job(
    app: Any, *, now: datetime, holder: str, send: Callable[..., Any] | None = None
) -> DigestDecision:
    """The digest job: decide, claim the slot in the store, send it. Safe to call any number of
    times from any number of processes: a slot is sent by exactly one claimer, within the grace."""
    decision = decide_digest(now, app.settings, app.store.leases)
    if not decision.due:
        log.debug("digest %s: %s", decision.slot.key, decision.action)
        return decision
    stale = max(schedule_settings(app.settings).lease_ttl * 2, timedelta(minutes=10))
    if not app.store.leases.claim_job_run("digest", decision.slot.key, holder=holder, now=now, stale_after=stale):
        return DigestDecision(slot=decision.slot, action="done")
    send = send or _default_send
    try:
        result = send(app, now=now)
    except Exception as exc:
        app.store.leases.finish_job_run("digest", decision.slot.key, holder=holder, now=now, status="failed",
                                 detail=repr(exc)[:500])
        log.exception("digest %s failed; it may be retried within the grace", decision.slot.key)
        raise
    key, report = result if isinstance(result, tuple) else (result, None)
    detail = f"edition {key}: {report!r}"[:500] if key else "nothing due by the digest's ledger"
    app.store.leases.finish_job_run("digest", decision.slot.key, holder=holder, now=now, status="ok", detail=detail)
    log.info("digest %s: %s", decision.slot.key, detail)
    return DigestDecision(slot=decision.slot, action="sent")


def ingest_every(settings: Any) -> int:
    """Minutes between ingest ticks: the `[schedule]` interval, or a source's own shorter one."""
    own = [s.interval_minutes for s in getattr(settings, "sources", ()) if getattr(s, "interval_minutes", None)]
    return max(1, min([schedule_settings(settings).ingest_minutes, *own]))


def due_sources(settings: Any, sources: Sources, now: datetime) -> list:
    """The sources to fetch at this tick: each source every `interval_minutes` (its own, else the
    `[schedule]` one) or its feed's `<ttl>` if longer, never before a server's Retry-After has passed.
    A source never fetched is due."""
    from feedpipe.pipeline import next_fetch_at

    default = schedule_settings(settings).ingest_minutes
    slack = timedelta(seconds=30)  # a tick that comes a little early still counts
    due = []
    for source in getattr(settings, "sources", ()):
        when = next_fetch_at(source, sources.state(source.name), default_minutes=default)
        if when is None or when - slack <= now:
            due.append(source)
    return due


def run_ingest_job(app: Any, *, now: datetime) -> Any:
    """One ingest of the sources that are due, then the changed feeds and the digest preview."""
    from feedpipe import pipeline

    sources = due_sources(app.settings, app.store.sources, now)
    if not sources:
        return None
    # `force`: the intervals were applied above, with the slack a tick needs
    report = pipeline.ingest(app, now=now, sources=sources, force=True)
    if schedule_settings(app.settings).feeds_after_ingest:
        pipeline.publish_feeds(app, now=now, only_dirty=True)
        try:  # the web view of the edition being collected, as `feedpipe run` refreshes it
            pipeline.build_digest_preview(app, now=now)
        except Exception:
            log.exception("digest preview not rebuilt")
    return report


# -- the lease --------------------------------------------------------------------------------------


def make_holder() -> str:
    """A name for this process in the lease table: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def busy_message(leases: Leases, now: datetime) -> LeaseBusy:
    lease = leases.get(LEASE_NAME)
    who = lease.holder if lease else "another process"
    until = f" (lease valid until {lease.expires_at:%Y-%m-%d %H:%M:%S} UTC)" if lease else ""
    return LeaseBusy(
        f"the scheduled work of this store is already being run by {who}{until}",
        "stop the other `feedpipe serve` first, or wait for its lease to expire if it crashed; "
        "`feedpipe web` serves the web side without the scheduled work",
    )


@contextmanager
def hold_lease(app: Any, *, holder: str | None = None, now: datetime | None = None) -> Iterator[str]:
    """Hold the scheduler lease for a block (e.g. `feedpipe run` from cron); raise LeaseBusy when
    another process holds it. Released on exit."""
    holder = holder or make_holder()
    store = app.store
    now = now or app.clock()
    ttl = schedule_settings(app.settings).lease_ttl
    if not store.leases.acquire(LEASE_NAME, holder, now=now, ttl=ttl):
        raise busy_message(store.leases, now)
    try:
        yield holder
    finally:
        store.leases.release(LEASE_NAME, holder)


# -- the service ------------------------------------------------------------------------------------


def _triggers(settings: Any):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    sched = schedule_settings(settings)
    timing = digest_timing(settings)
    out = {"ingest": IntervalTrigger(minutes=ingest_every(settings), timezone=timing.tz)}
    if sched.digest:
        out["digest"] = CronTrigger(
            day_of_week=CRON_DAYS[timing.weekday], hour=timing.at.hour, minute=timing.at.minute,
            second=timing.at.second, timezone=timing.tz,
        )
    return out


def next_runs(settings: Any, now: datetime) -> list[tuple[str, datetime]]:
    """Each job's next run after `now`, in the outlet's local time (for `feedpipe schedule`)."""
    timing = digest_timing(settings)
    out = []
    for name, trigger in _triggers(settings).items():
        # serve ingests on start, then every N minutes
        nxt = now if name == "ingest" else trigger.get_next_fire_time(None, now)
        out.append((name, nxt.astimezone(timing.tz)))
    return out


class Service:
    """The scheduled work of `feedpipe serve`: takes the store lease, runs the jobs, stops cleanly.

    `start()` raises LeaseBusy when another process holds the lease. `stop()` lets the running job
    finish its step, then releases the lease. `run_until_stopped()` does both around SIGTERM/SIGINT.
    """

    def __init__(self, app: Any, *, holder: str | None = None,
                 send: Callable[..., Any] | None = None) -> None:
        self.app = app
        self.holder = holder or make_holder()
        self.send = send
        self.settings = schedule_settings(app.settings)
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # one job at a time touches the pipeline
        self._scheduler = None
        self.lost_lease = False

    # the jobs APScheduler calls; each checks the lease and the stop flag first
    def _guarded(self, name: str, work: Callable[[datetime], Any]) -> Any:
        if self.stopping.is_set():
            return None
        with self._lock:
            now = self.app.clock()
            if not self.app.store.leases.renew(LEASE_NAME, self.holder, now=now, ttl=self.settings.lease_ttl):
                self.lost_lease = True
                log.error("lost the scheduler lease; %s skipped and the service stops", name)
                self.stopping.set()
                return None
            try:
                return work(now)
            except Exception:
                log.exception("job %s failed; it runs again at its next time", name)
                return None

    def ingest(self) -> Any:
        return self._guarded("ingest", lambda now: run_ingest_job(self.app, now=now))

    def digest(self) -> Any:
        return self._guarded(
            "digest", lambda now: run_digest_job(self.app, now=now, holder=self.holder, send=self.send)
        )

    def renew(self) -> None:
        """Runs beside a long job (not under its lock), so a long send never lets the lease lapse."""
        if self.stopping.is_set():
            return
        now = self.app.clock()
        if not self.app.store.leases.renew(LEASE_NAME, self.holder, now=now, ttl=self.settings.lease_ttl):
            self.lost_lease = True
            log.error("lost the scheduler lease to another process; the service stops")
            self.stopping.set()

    def start(self, *, ingest_now: bool = True) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        now = self.app.clock()
        if not self.app.store.leases.acquire(LEASE_NAME, self.holder, now=now, ttl=self.settings.lease_ttl):
            raise busy_message(self.app.store.leases, now)
        timing = digest_timing(self.app.settings)
        triggers = _triggers(self.app.settings)
        scheduler = BackgroundScheduler(timezone=timing.tz, job_defaults={"coalesce": True, "max_instances": 1})
        first = {"next_run_time": now} if ingest_now else {}  # next_run_time=None would pause the job
        scheduler.add_job(self.ingest, triggers["ingest"], id="ingest", name="ingest + feeds",
                          misfire_grace_time=None, **first)
        if "digest" in triggers:
            scheduler.add_job(self.digest, triggers["digest"], id="digest", name="weekly digest",
                              misfire_grace_time=int(timing.grace.total_seconds()))
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler.add_job(self.renew, IntervalTrigger(seconds=max(10, self.settings.lease_ttl_seconds // 3)),
                          id="lease", name="renew lease")
        self._scheduler = scheduler
        scheduler.start()
        # a digest missed while this process was down: sent now if still within the grace
        scheduler.add_job(self.digest, id="digest-catch-up", name="digest catch-up")

    def stop(self) -> None:
        """Finish the running job, then stop and release the lease. Safe to call twice."""
        self.stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        with self._lock:
            self.app.store.leases.release(LEASE_NAME, self.holder)

    def run_until_stopped(self, *, on_started: Callable[[], None] | None = None) -> None:
        """Start, wait for SIGTERM/SIGINT (or `stopping`), stop cleanly. Main thread only."""
        handlers = {}

        def handle(signum, _frame):
            log.info("signal %s: finishing the current step, then exiting", signum)
            self.stopping.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            handlers[sig] = signal.signal(sig, handle)
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
        if self._scheduler is None:
            return []
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs() if job.next_run_time]
