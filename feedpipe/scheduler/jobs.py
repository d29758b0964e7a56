"""The scheduled jobs, each one call with time handed in: ingest the due sources, send the due digest.

The digest job decides nothing about time itself: it asks the digest's schedule
(`DigestSchedule.status`) which edition is due at `now` and until when, claims that edition's run in
the store (`store.leases.claim_job_run`, one row per edition key, so DST, restarts and a second scheduler
never run it twice), lets `pipeline.send_due_digest` send it, and records what the digest's ledger
says happened: `ok` only when the edition is sent, `skipped` when the digest skipped it (empty),
`failed` (claimable again within the grace) when it was not sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from feedpipe import ingest as ingest_service
from feedpipe import pipeline
from feedpipe.app import App
from feedpipe.core.model import SendReport, Source
from feedpipe.core.settings import Settings
from feedpipe.digest.editions import DigestSchedule, EditionSlot
from feedpipe.store import Store

log = logging.getLogger(__name__)

DIGEST_JOB = "digest"

DigestAction = Literal["due", "done", "missed", "disabled", "sent", "skipped", "not-sent"]
"""due: to be sent now; done: sent, skipped or claimed already; missed: past its grace, never sent
late; disabled: `[schedule] digest = false`; and what one run did: sent, skipped (the digest skipped
an empty edition), not-sent (claimed, but the digest sent nothing: the run is recorded failed)."""


class DigestSender(Protocol):
    """Sends the due edition, as `pipeline.send_due_digest` does: (its key, the report) or (None, None)."""

    def __call__(self, app: App, *, now: datetime) -> tuple[str | None, SendReport | None]: ...


@dataclass(frozen=True, kw_only=True)
class DigestRun:
    slot: EditionSlot  # the edition whose send time is the latest at or before `now`
    action: DigestAction

    @property
    def due(self) -> bool:
        return self.action == "due"


def decide_digest(now: datetime, settings: Settings, store: Store) -> DigestRun:
    """What the digest job would do at `now`, from the digest's schedule and the store."""
    status = DigestSchedule.of(settings.digest).status(now, store)
    if not settings.schedule.digest:
        return DigestRun(slot=status.slot, action="disabled")
    if status.state != "due":
        return DigestRun(slot=status.slot, action="missed" if status.state == "missed" else "done")
    run = store.leases.job_run(DIGEST_JOB, status.slot.key)
    if run is not None and run.status != "failed":
        return DigestRun(slot=status.slot, action="done")
    return DigestRun(slot=status.slot, action="due")


def run_digest_job(app: App, *, now: datetime, holder: str, send: DigestSender | None = None) -> DigestRun:
    """The digest job: ask, claim the edition's run in the store, send it, record the outcome. Safe to
    call any number of times from any number of processes: an edition is sent by exactly one claimer,
    within its grace. `send` defaults to `pipeline.send_due_digest`."""
    decision = decide_digest(now, app.settings, app.store)
    if not decision.due:
        log.debug("digest %s: %s", decision.slot.key, decision.action)
        return decision
    key = decision.slot.key
    stale = max(app.settings.schedule.lease_ttl * 2, timedelta(minutes=10))
    if not app.store.leases.claim_job_run(DIGEST_JOB, key, holder=holder, now=now, stale_after=stale):
        return DigestRun(slot=decision.slot, action="done")
    sender: DigestSender = send or pipeline.send_due_digest
    try:
        sent_key, report = sender(app, now=now)
    except Exception as exc:
        app.store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="failed", detail=repr(exc)[:500])
        log.exception("digest %s failed; it may be retried within the grace", key)
        raise
    # the digest's ledger, not the sender's return value, says whether the edition went out
    after = DigestSchedule.of(app.settings.digest).status(now, app.store)
    detail = f"edition {sent_key}: {report!r}"[:500]
    if after.state == "sent":
        app.store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="ok", detail=detail)
        log.info("digest %s sent: %s", key, detail)
        return DigestRun(slot=decision.slot, action="sent")
    if after.state == "skipped":
        app.store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="skipped", detail=detail)
        log.info("digest %s skipped by the digest: %s", key, detail)
        return DigestRun(slot=decision.slot, action="skipped")
    why = f"edition {key} not sent (the digest returned {sent_key!r}: {report!r})"[:500]
    app.store.leases.finish_job_run(DIGEST_JOB, key, holder=holder, now=now, status="failed", detail=why)
    log.warning("digest %s: %s; it may be retried within the grace", key, why)
    return DigestRun(slot=decision.slot, action="not-sent")


# -- ingest ------------------------------------------------------------------------------------------


def ingest_every(settings: Settings) -> int:
    """Minutes between ingest ticks: the `[schedule]` interval, or a source's own shorter one."""
    own = [s.interval_minutes for s in settings.sources if s.interval_minutes]
    return max(1, min([settings.schedule.ingest_minutes, *own]))


def due_sources(settings: Settings, store: Store, now: datetime) -> list[Source]:
    """The sources to fetch at this tick: each source every `interval_minutes` (its own, else the
    `[schedule]` one) or its feed's `<ttl>` if longer, never before a server's Retry-After has passed;
    a failing source backs off (`ingest.due`), a paused one waits for `feedpipe sources --resume`.
    A source never fetched is due."""
    default = settings.schedule.ingest_minutes
    slack = timedelta(seconds=30)  # a tick that comes a little early still counts
    states = {st.name: st for st in store.sources.states()}  # one query per tick, whatever the number of sources
    return [source for source in settings.sources
            if ingest_service.skip(source, states.get(source.name), now + slack,
                                   default_minutes=default, backoff_minutes=default) is None]


def run_ingest_job(app: App, *, now: datetime) -> ingest_service.IngestReport | None:
    """One ingest of the sources that are due, then the changed feeds and the digest preview."""
    sources = due_sources(app.settings, app.store, now)
    if not sources:
        return None
    # `force`: the intervals were applied above, with the slack a tick needs
    report = ingest_service.ingest(app, now=now, sources=sources, force=True)
    if app.settings.schedule.feeds_after_ingest:
        pipeline.publish_feeds(app, now=now, only_dirty=True)
        try:  # the web view of the edition being collected, as `feedpipe run` refreshes it
            pipeline.build_digest_preview(app, now=now)
        except Exception:
            log.exception("digest preview not rebuilt")
    return report
