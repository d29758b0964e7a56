"""`feedpipe serve` (scheduler + web), `feedpipe web` (web only), `feedpipe schedule` (next runs)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, timedelta

import click

from feedpipe.cli.context import Context
from feedpipe.core.errors import StoreError
from feedpipe.digest.editions import DigestSchedule
from feedpipe.scheduler.jobs import decide_digest, ingest_every
from feedpipe.scheduler.lease import LEASE_NAME, make_holder
from feedpipe.scheduler.service import Service, next_runs
from feedpipe.store.leases import describe_holder
from feedpipe.workers import Leader

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web side listens on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the web side (0: any free port).")
@click.option("--no-web", is_flag=True, help="Run only the scheduled work, no HTTP server.")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Web worker threads.")
@click.option("--trusted-proxy", metavar="ADDR", help="A reverse proxy (e.g. 127.0.0.1) whose X-Forwarded-For/-Proto "
              "are believed (client IP for the sign-up rate limit, https for secure cookies).")
@click.pass_obj
def serve(obj: Context, host: str, port: int, no_web: bool, threads: int, trusted_proxy: str | None) -> int:
    """Run as a service: ingest every few minutes, rebuild the feeds, send the weekly digest when it
    is due, and serve the web side (feeds, archive, sign-up, unsubscribe).

    Only one process per store runs the scheduled work: a second `serve` is refused while the first
    holds the store's lease. SIGTERM (or Ctrl-C) finishes the current step and exits cleanly.

    With `[schedule] workers = true` (PostgreSQL), `serve` only decides what is due and enqueues it for
    `feedpipe worker` processes; any number of such `serve` may run: one leads (an advisory lock), the
    others follow and take over within seconds when the leader's connection dies.
    """
    app = obj.app
    if app.settings.schedule.workers:
        return _serve_as_leader(obj, host, port, no_web, threads, trusted_proxy)
    service = Service(app, holder=make_holder("serve"))
    server = None
    if not no_web:
        from feedpipe.web import WebServer, create_app  # Flask: imported only by the commands that serve

        server = WebServer(create_app(app), host=host, port=port, threads=threads, trusted_proxy=trusted_proxy)

    def started() -> None:
        if server is not None:
            server.start()
            click.echo(f"feedpipe: serving {server.url} (feeds at {server.url}/feeds/all.atom)", err=True)
        now = app.clock()
        for job, when in service.next_runs():  # in UTC, like every log line (docs/service.md)
            at = "running now" if when <= now + timedelta(seconds=5) else f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            click.echo(f"feedpipe: next {job:<16} {at}", err=True)

    try:
        service.run_until_stopped(on_started=started)
    finally:
        if server is not None:
            server.stop()
    if service.lost_lease:
        click.echo("feedpipe: stopped: another process took over the scheduler lease", err=True)
        return 4
    click.echo("feedpipe: stopped cleanly", err=True)
    return 0


def _serve_as_leader(obj: Context, host: str, port: int, no_web: bool, threads: int,
                     trusted_proxy: str | None) -> int:
    """`serve` on a PostgreSQL store with workers: lead or follow, and serve the web side."""
    if obj.store.is_sqlite:
        raise StoreError("[schedule] workers = true needs a PostgreSQL store",
                         "set [store] url = \"postgresql+psycopg://...\", or remove `workers` to run everything here")
    leader = Leader(obj.app)
    server = None
    if not no_web:
        from feedpipe.web import WebServer, create_app  # Flask: imported only by the commands that serve

        server = WebServer(create_app(obj.app), host=host, port=port, threads=threads, trusted_proxy=trusted_proxy)
        server.start()
        click.echo(f"feedpipe: serving {server.url}", err=True)
    click.echo(f"feedpipe: {leader.holder} enqueues for `feedpipe worker` (leader or follower)", err=True)
    try:
        leader.run_until_stopped()
    finally:
        if server is not None:
            server.stop()
    click.echo("feedpipe: stopped cleanly", err=True)
    return 0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port (0: any free).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Worker threads.")
@click.option("--trusted-proxy", metavar="ADDR", help="A reverse proxy whose X-Forwarded-For/-Proto are believed.")
@click.pass_obj
def web(obj: Context, host: str, port: int, threads: int, trusted_proxy: str | None) -> int:
    """Serve only the web side (feeds, digest archive, sign-up, unsubscribe, preferences, /healthz),
    without the scheduled work; any number of these may run beside one `serve` or cron `run`."""
    from feedpipe.web import WebServer, create_app  # Flask: imported only by the commands that serve

    app = obj.app
    server = WebServer(create_app(app), host=host, port=port, threads=threads, trusted_proxy=trusted_proxy)
    stop = threading.Event()
    old = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        click.echo(f"feedpipe: serving {server.url}", err=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    click.echo("feedpipe: stopped cleanly", err=True)
    return 0


@click.command()
@click.pass_obj
def schedule(obj: Context) -> None:
    """List each scheduled job's next run, in the digest's local time, and who holds the scheduler."""
    app = obj.app
    now = app.clock()
    settings = app.settings
    digest = DigestSchedule.of(settings.digest)
    for job, when in next_runs(settings, now):
        if job == "ingest":
            click.echo(f"ingest   every {ingest_every(settings)} min from start; each source every "
                       f"{settings.schedule.ingest_minutes} min or its own interval_minutes, after any "
                       f"Retry-After; feeds rebuilt after each")
        else:
            click.echo(f"{job:<8} {when:%a %Y-%m-%d %H:%M %Z} (grace {digest.grace.total_seconds() / 3600:g} h)")
    decision = decide_digest(now, settings, app.store)
    click.echo(f"last digest slot {decision.slot.key} at {decision.slot.at:%a %Y-%m-%d %H:%M %Z}: {decision.action}")
    lease = app.store.leases.get(LEASE_NAME)
    if lease and lease.active(now):
        click.echo(f"scheduler: held by {describe_holder(lease.holder, lease.acquired_at)} until {lease.expires_at.astimezone(digest.tz):%H:%M:%S %Z}")
    else:
        click.echo("scheduler: not running")
