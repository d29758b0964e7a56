"""`feedpipe worker` (take work from a PostgreSQL store) and `feedpipe workers` (who is working)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import click

from feedpipe.cli.context import Context
from feedpipe.core.errors import StoreError
from feedpipe.workers import Worker

log = logging.getLogger(__name__)

LIVE_WITHIN = timedelta(minutes=2)


def _needs_postgresql(obj: Context) -> None:
    if obj.store.is_sqlite:
        raise StoreError("workers need a PostgreSQL store: SQLite serves one process at a time",
                         "set [store] url = \"postgresql+psycopg://user@host/db\" (or --store), "
                         "or run `feedpipe run` / `feedpipe serve` alone on SQLite")


@click.command()
@click.option("--batch", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Subscribers claimed at a time from an edition's send.")
@click.option("--claim-seconds", type=click.IntRange(10, 3600), default=60, show_default=True,
              help="How long a claim lasts unless renewed (a killed worker's work returns after this).")
@click.option("--poll", type=click.FloatRange(0.05, 60), default=1.0, show_default=True,
              help="Seconds between looks for work when there is none.")
@click.option("--exit-when-idle", type=click.IntRange(1), metavar="N",
              help="Exit after N idle polls in a row (batch jobs, tests); default: run until SIGTERM.")
@click.pass_obj
def worker(obj: Context, batch: int, claim_seconds: int, poll: float, exit_when_idle: int | None) -> int:
    """Take work from the store until stopped: batches of an edition's send, due sources to ingest,
    changed feeds to rebuild (PostgreSQL only; the leader is `feedpipe serve` with `[schedule]
    workers = true`). Any number may run, on any number of machines. SIGTERM finishes the message or
    source in hand and gives every claim back at once."""
    _needs_postgresql(obj)
    app = obj.app
    w = Worker(app, batch=batch, claim_ttl=timedelta(seconds=claim_seconds), poll_seconds=poll)
    click.echo(f"feedpipe: worker {w.holder} started", err=True)
    tally = w.run_until_stopped(max_idle_steps=exit_when_idle)
    click.echo(f"feedpipe: worker {w.holder} stopped: {tally.summary()}", err=True)
    return 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: workers and open tasks.")
@click.pass_obj
def workers(obj: Context, as_json: bool) -> None:
    """List the live workers and leaders (host, pid, what each holds, since when) and the open tasks."""
    _needs_postgresql(obj)
    store, now = obj.store, obj.now
    live = store.work.workers(now=now, live_within=LIVE_WITHIN)
    tasks = store.work.open_tasks()
    sends = {key: store.work.ledger_claims(key) for key in store.work.queued_editions()}
    if as_json:
        click.echo(json.dumps({
            "workers": [{"holder": w.holder, "host": w.host, "pid": w.pid, "role": w.role,
                         "started_at": w.started_at.isoformat(), "heartbeat_at": w.heartbeat_at.isoformat(),
                         "doing": w.doing, "doing_since": w.doing_since.isoformat() if w.doing_since else None}
                        for w in live],
            "tasks": [{"kind": t.kind, "key": t.key, "host": t.host, "claimed_by": t.claimed_by,
                       "claim_expires_at": t.claim_expires_at.isoformat() if t.claim_expires_at else None}
                      for t in tasks],
            "sending": sends,
        }, indent=2))
        return
    if not live:
        click.echo("no live workers (none has reported in the last 2 minutes)")
    for w in live:
        doing = f"{w.doing} since {w.doing_since:%H:%M:%S} UTC" if w.doing and w.doing_since else "idle"
        click.echo(f"{w.role:<8} {w.host:<20} pid {w.pid:<7} up since {w.started_at:%Y-%m-%d %H:%M} UTC  "
                   f"seen {int((now - w.heartbeat_at).total_seconds())} s ago  {doing}")
    claimed = [t for t in tasks if t.claimed_by]
    click.echo(f"tasks: {len(tasks)} open, {len(claimed)} claimed")
    for t in claimed:
        click.echo(f"  {t.kind} {t.key} held by {t.claimed_by}")
    for key, holders in sends.items():
        click.echo(f"edition {key}: " + (", ".join(f"{h} holds {n}" for h, n in holders.items()) or "no batch held"))
