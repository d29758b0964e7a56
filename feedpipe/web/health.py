"""`/healthz`: ok or not ok, and how long ago ingest and the digest last ran. Nothing about hosts,
processes or the store's address: the page is public, and a monitor needs no more to raise an alarm."""

from __future__ import annotations

import logging
from datetime import datetime

import flask
from flask.typing import ResponseReturnValue

from feedpipe.core.model import Edition
from feedpipe.store.leases import JobRun, Lease
from feedpipe.store.sources import SourceState
from feedpipe.web.deps import current

SCHEDULER_LEASE = "scheduler"
DIGEST_JOB = "digest"

log = logging.getLogger(__name__)
bp = flask.Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 `{"status": "ok", ...}` while the store answers, else 503 `{"status": "not ok"}`. `scheduler`
    says whether a scheduler holds the lease (None: nobody schedules); `ingest` and `digest` give the age
    in seconds of the last run and how it went (None: never ran); `last_digest` is the last edition sent,
    by cron `run`, `serve` or `digest send` alike, and how long ago (None: none sent yet)."""
    app = current().app
    now = app.clock()
    try:
        lease = app.store.leases.get(SCHEDULER_LEASE)
        runs = app.store.leases.job_runs(DIGEST_JOB, limit=1)
        states = app.store.sources.states()
        sent = app.store.editions.all("sent")
    except Exception:  # the store does not answer; why goes to the log (redacted), not to the public
        log.warning("healthz: the store does not answer", exc_info=True)
        response = flask.jsonify({"status": "not ok", "store": "not ok"})
        response.status_code = 503
    else:
        response = flask.jsonify({"status": "ok", "store": "ok", "scheduler": _lease(lease, now),
                                  "ingest": _ingest(states, now), "digest": _run(runs[0], now) if runs else None,
                                  "last_digest": _last_digest(sent, now)})
    response.cache_control.no_store = True
    return response


def _age(then: datetime, now: datetime) -> int:
    return max(0, round((now - then).total_seconds()))


def _lease(lease: Lease | None, now: datetime) -> dict[str, object] | None:
    return None if lease is None else {"active": lease.active(now)}


def _ingest(states: list[SourceState], now: datetime) -> dict[str, object] | None:
    fetched = [s.last_fetch_at for s in states if s.last_fetch_at is not None]
    if not fetched:
        return None
    return {"age_seconds": _age(max(fetched), now), "failing_sources": sum(s.status == "error" for s in states)}


def _run(run: JobRun, now: datetime) -> dict[str, object]:
    return {"age_seconds": _age(run.finished_at or run.started_at, now), "status": run.status, "edition": run.slot}


def _last_digest(sent: list[Edition], now: datetime) -> dict[str, object] | None:
    dated = [e for e in sent if e.sent_at is not None]
    if not dated:
        return None
    last = max(dated, key=lambda e: (e.sent_at or now, e.key))
    return {"edition": last.key, "age_seconds": _age(last.sent_at or now, now)}
