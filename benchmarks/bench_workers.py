"""Scale-out throughput: ingest and send with 1, 2 and 4 `feedpipe worker` processes on PostgreSQL,
beside one process on SQLite (`feedpipe ingest`, `feedpipe digest send`).

Ingest: 200 sources on 20 local hosts (127.0.0.x), each response delayed `--latency` seconds (a real
server's think time). Send: an edition to `--subscribers` subscribers through an SMTP sink that adds
`--smtp-delay` seconds per message. Each worker count runs on a fresh database; the figure is the wall
time from the first task enqueued to the last one done. Ratios are against one worker (the target on
a 2-core machine: 2 workers >= 1.7x one on the ingest); needs FEEDPIPE_TEST_PG_URL (.ci/start-postgres.sh).

    python benchmarks/bench_workers.py [--sources 200] [--subscribers 2000] [--workers 1,2,4] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from benchjson import Figures  # noqa: E402

from feedpipe.app import App  # noqa: E402
from feedpipe.config import load_settings  # noqa: E402
from feedpipe.core.clock import clock_from  # noqa: E402
from feedpipe.workers import tick  # noqa: E402
from tests.scaleout import FeedHosts, start_worker, wait_for, write_config  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
THURSDAY = NOW - timedelta(hours=20)


def fresh_database(base: str) -> tuple[str, sa.Engine, str]:
    name = f"feedpipe_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False), admin, name


def drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


class Servers:
    """The feed hosts and the SMTP sink in a process of their own (tests/scaleout.py), so the benchmark's
    polling never holds up a response; the messages are counted from the send ledger."""

    def __init__(self, hosts: int, latency: float, smtp_delay: float) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.scaleout", str(hosts), str(latency), str(smtp_delay)],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        found = json.loads(self.proc.stdout.readline()) if self.proc.stdout else {}
        self.feeds = FeedHosts(hosts=hosts, latency=latency, ports=found["ports"])
        self.smtp_port = int(found["smtp"])

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run_workers(base: str, n: int, args: argparse.Namespace, servers: Servers) -> tuple[float, float]:
    """(ingest seconds, send seconds) with `n` workers on a fresh PostgreSQL database."""
    url, admin, name = fresh_database(base)
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    config = write_config(folder, store_url=url, feeds=servers.feeds, sources=args.sources,
                          smtp_port=servers.smtp_port)
    app = App(load_settings(config, cwd=folder), clock=clock_from(THURSDAY))
    procs: list[subprocess.Popen[str]] = []
    started = time.monotonic()

    def clock() -> str:
        return (THURSDAY + timedelta(seconds=time.monotonic() - started)).isoformat()

    try:
        procs = [start_worker(config, now=clock()) for _ in range(n)]
        wait_for(lambda: len([w for w in app.store.work.workers(now=THURSDAY, live_within=timedelta(days=9))
                              if w.role == "worker"]) == n, timeout=60, what="the workers")
        t0 = time.perf_counter()
        tick(app, now=THURSDAY, holder="bench:1:lead")
        wait_for(lambda: not any(t.kind == "ingest" for t in app.store.work.open_tasks()), timeout=900,
                 every=0.1, what="the ingest")
        ingest_s = time.perf_counter() - t0
        for i in range(args.subscribers):
            app.store.subscribers.add(f"reader{i:06d}@example.org", status="active", now=NOW)
        t0 = time.perf_counter()
        tick(app, now=NOW, holder="bench:1:lead")
        wait_for(lambda: app.store.work.unclaimed_work("2026-W48") == 0, timeout=1800, every=0.1, what="the send")
        send_s = time.perf_counter() - t0
        sent = app.store.ledger.counts("2026-W48")["sent"]
        assert sent == args.subscribers, (sent, args.subscribers)
        return ingest_s, send_s
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        app.close()
        drop_database(admin, name)


def run_sqlite(args: argparse.Namespace, servers: Servers) -> tuple[float, float]:
    """The same work by one process on SQLite: `feedpipe ingest`, then `feedpipe digest send`."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    config = write_config(folder, store_url=f"sqlite:///{folder / 'feedpipe.db'}", feeds=servers.feeds,
                          sources=args.sources, smtp_port=servers.smtp_port)
    config.write_text(config.read_text().replace("workers = true", "workers = false"))
    env = {**os.environ, "FEEDPIPE_ALLOW_PRIVATE_ADDRESSES": "1", "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "feedpipe", "-q", "--config", str(config)]
    t0 = time.perf_counter()
    subprocess.run([*cli, "--now", THURSDAY.isoformat(), "ingest"], env=env, check=True, capture_output=True)
    ingest_s = time.perf_counter() - t0
    app = App(load_settings(config, cwd=folder), clock=clock_from(NOW))
    for i in range(args.subscribers):
        app.store.subscribers.add(f"reader{i:06d}@example.org", status="active", now=NOW)
    t0 = time.perf_counter()
    subprocess.run([*cli, "--now", NOW.isoformat(), "digest", "send"], env=env, check=True, capture_output=True)
    send_s = time.perf_counter() - t0
    sent = app.store.ledger.counts("2026-W48")["sent"]
    app.close()
    assert sent == args.subscribers, (sent, args.subscribers)
    return ingest_s, send_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds each feed response waits")
    ap.add_argument("--subscribers", type=int, default=2000)
    ap.add_argument("--smtp-delay", type=float, default=0.01, help="seconds the SMTP sink adds per message")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--json", help="write the figures here (for benchmarks/run.py)")
    args = ap.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    fig = Figures("workers", sources=args.sources, hosts=args.hosts, latency_s=args.latency,
                  subscribers=args.subscribers, smtp_delay_s=args.smtp_delay, workers=counts)
    base = os.environ.get("FEEDPIPE_TEST_PG_URL")
    if not base:
        fig.skip("FEEDPIPE_TEST_PG_URL is not set: start PostgreSQL with `eval \"$(.ci/start-postgres.sh)\"`")
        fig.write(args.json)
        print(fig.data["reason"])
        return 0
    servers = Servers(args.hosts, args.latency, args.smtp_delay)
    try:
        ingest_s, send_s = run_sqlite(args, servers)
        fig.add("sqlite_ingest_s", ingest_s, "s", "one process on SQLite: ingest")
        fig.add("sqlite_send_s", send_s, "s", "one process on SQLite: send")
        print(f"SQLite, one process: ingest {ingest_s:.2f} s, send {send_s:.2f} s")
        for n in counts:
            ingest_s, send_s = run_workers(base, n, args, servers)
            fig.add(f"workers{n}_ingest_s", ingest_s, "s", f"{n} worker(s): ingest")
            fig.add(f"workers{n}_send_s", send_s, "s", f"{n} worker(s): send")
            print(f"{n} worker(s) on PostgreSQL: ingest {ingest_s:.2f} s, send {send_s:.2f} s")
        one_i, one_s = fig.data["figures"]["workers1_ingest_s"], fig.data["figures"]["workers1_send_s"]
        for n in counts:
            fi = fig.add(f"workers{n}_ingest_speedup_ratio", one_i / fig.data["figures"][f"workers{n}_ingest_s"],
                         better="higher")
            fs = fig.add(f"workers{n}_send_speedup_ratio", one_s / fig.data["figures"][f"workers{n}_send_s"],
                         better="higher")
            print(f"{n} worker(s) vs one: ingest {fi:.2f}x, send {fs:.2f}x")
        fig.add("sqlite_vs_one_worker_ingest_ratio", one_i / fig.data["figures"]["sqlite_ingest_s"], better="higher")
        fig.add("sqlite_vs_one_worker_send_ratio", one_s / fig.data["figures"]["sqlite_send_s"], better="higher")
    finally:
        servers.stop()
    fig.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
