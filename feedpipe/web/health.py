"""`/healthz`: does the store answer, who holds the scheduler lease, how did the last digest go."""

from __future__ import annotations

from datetime import datetime

import flask
from flask.typing import ResponseReturnValue

from feedpipe.store.leases import JobRun, Lease
from feedpipe.web.deps import current

SCHEDULER_LEASE = "scheduler"
DIGEST_JOB = "digest"

bp = flask.Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    app = current().app
    try:
        lease = app.store.leases.get(SCHEDULER_LEASE)
        runs = app.store.leases.job_runs(DIGEST_JOB, limit=1)
    except Exception as exc:  # the store does not answer
        return flask.jsonify({"status": "error", "store": str(exc)[:200]}), 503
    body: dict[str, object] = {"status": "ok", "store": "ok", "scheduler": _lease(lease, app.clock())}
    if runs:
        body["last_digest"] = _run(runs[0])
    response = flask.jsonify(body)
    response.cache_control.no_store = True
    return response


def _lease(lease: Lease | None, now: datetime) -> dict[str, object] | None:
    if lease is None:
        return None
    return {"holder": lease.holder, "expires_at": lease.expires_at.isoformat(), "active": lease.active(now)}


def _run(run: JobRun) -> dict[str, object]:
    return {"edition": run.slot, "status": run.status, "at": (run.finished_at or run.started_at).isoformat()}
