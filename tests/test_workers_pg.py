"""Scale-out on a real PostgreSQL: worker processes share the ingest of 200 sources on 20 hosts and
the send of an edition to 5,000 subscribers; kill -9 a worker in each and the others finish the work,
still exactly once; kill the leader and a follower leads within 10 seconds, running no slot twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from feedpipe.app import App
from feedpipe.cli import run
from feedpipe.config import load_settings
from feedpipe.core.clock import clock_from
from feedpipe.store import Store
from feedpipe.store.schema import articles
from feedpipe.workers import tick
from tests.scaleout import REPO, FeedHosts, SmtpSink, start_worker, wait_for, write_config

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday, an hour after the 08:00 UTC digest slot
THURSDAY = NOW - timedelta(hours=20)  # the week's ingest, before the slot (and within a day of it)
SOURCES, HOSTS, ITEMS, SUBSCRIBERS = 200, 20, 3, 5000


@pytest.fixture
def farm(tmp_path, pg_url):
    feeds = FeedHosts(hosts=HOSTS, items=ITEMS, latency=0.02).start()
    sink = SmtpSink().start()
    config = write_config(tmp_path, store_url=pg_url, feeds=feeds, sources=SOURCES, smtp_port=sink.port)
    app = App(load_settings(config, cwd=tmp_path), clock=clock_from(NOW))
    procs: list[subprocess.Popen[str]] = []
    yield app, feeds, sink, config, procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        _out, err = p.communicate()
        if err.strip():  # shown with a failing test: what each worker logged, and how it ended
            print(f"--- worker {p.pid} (exit {p.returncode}) stderr:\n{err[-4000:]}")
    app.close()
    sink.stop()
    feeds.stop()


def _stored(store: Store) -> tuple[int, int]:
    with store.db.read() as conn:
        return (int(conn.execute(select(func.count()).select_from(articles)).scalar_one()),
                int(conn.execute(select(func.count(func.distinct(articles.c.canonical_url)))).scalar_one()))


def _done_tasks(store: Store, kind: str) -> int:
    from feedpipe.store.work_schema import tasks

    with store.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tasks)
                                .where(tasks.c.kind == kind, tasks.c.done_at.is_not(None))).scalar_one())


def _operator_sees_the_workers(config, now: str, capsys, pids: set[int]) -> None:
    """`feedpipe workers` lists who works on what; `digest status` who holds rows of the edition."""
    capsys.readouterr()
    assert run(["--config", str(config), "--now", now, "workers", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    working = [w for w in listing["workers"] if w["role"] == "worker"]
    assert pids <= {w["pid"] for w in working} and all(w["host"] for w in working)
    assert any((w["doing"] or "").startswith("send 2026-W48") for w in working)
    assert run(["--config", str(config), "--now", now, "digest", "status", "--week", "2026-W48"]) == 0
    status = capsys.readouterr().out
    assert "edition 2026-W48: sending" in status and "send lease: queue:0:workers" in status
    assert "holds" in status


def test_three_workers_share_ingest_and_send_and_a_killed_one_loses_nothing(farm, capsys):
    app, feeds, sink, config, procs = farm
    store = app.store
    leader = "leader.test:1:lead"
    report = tick(app, now=THURSDAY, holder=leader)
    assert len(report.ingest) == SOURCES and report.opened is None  # the digest is not due on Thursday
    assert tick(app, now=THURSDAY, holder=leader).ingest == []  # enqueued once while open

    started = time.monotonic()  # every process's clock is THURSDAY + the time since: one clock, as NTP gives

    def clock() -> str:
        return (THURSDAY + timedelta(seconds=time.monotonic() - started)).isoformat()

    procs += [start_worker(config, now=clock()) for _ in range(3)]
    wait_for(lambda: _done_tasks(store, "ingest") >= SOURCES // 3, timeout=120, what="a third of the ingest")
    in_flight_at_kill = feeds.in_flight()
    procs[0].send_signal(signal.SIGKILL)  # kill -9 half-way through the ingest
    wait_for(lambda: _done_tasks(store, "ingest") == SOURCES, timeout=180, what="the whole ingest")

    rows, distinct = _stored(store)
    assert rows == distinct == SOURCES * ITEMS  # every article stored, once
    fetched = {v.path for v in feeds.visits}
    assert len(fetched) == SOURCES
    assert feeds.overlaps(ignore=in_flight_at_kill) == []  # no host ever saw two requests at once

    # the send: 5,000 subscribers, the edition opened by the leader, one worker killed half-way
    for i in range(SUBSCRIBERS):
        store.subscribers.add(f"reader{i:05d}@example.org", status="active", now=NOW)
    report = tick(app, now=NOW, holder=leader)
    assert report.opened == "2026-W48" and report.feeds
    assert store.work.queued_editions() == ["2026-W48"]
    wait_for(lambda: sink.total() >= SUBSCRIBERS // 3, timeout=300, what="a third of the send")
    _operator_sees_the_workers(config, clock(), capsys, {procs[1].pid, procs[2].pid})
    wait_for(lambda: sink.total() >= SUBSCRIBERS // 2, timeout=300, what="half the send")
    procs[1].send_signal(signal.SIGKILL)
    procs.append(start_worker(config, now=clock()))  # a replacement joins
    wait_for(lambda: store.work.unclaimed_work("2026-W48") == 0, timeout=300, what="the whole send")
    assert tick(app, now=NOW, holder=leader).finished == ["2026-W48"]

    counts = store.ledger.counts("2026-W48")
    assert counts["pending"] == counts["sending"] == counts["failed"] == 0
    assert counts["uncertain"] <= 1  # the killed worker's message in flight, if its body had gone out
    assert counts["sent"] + counts["uncertain"] == SUBSCRIBERS
    assert max(sink.got.values()) == 1  # nobody mailed twice
    reader, sender = sorted(sink.senders.items())[0]  # each message's own return path names its reader
    assert store.bounces.by_token(sender.partition("+")[2].partition("@")[0]).email == reader
    assert len(set(sink.senders.values())) == len(sink.senders)
    uncertain = {e.email for e in store.ledger.uncertain("2026-W48")}
    missing = {f"reader{i:05d}@example.org" for i in range(SUBSCRIBERS)} - set(sink.got)
    assert missing <= uncertain  # nobody unmailed except, at most, the one whose fate is unknown
    edition = store.editions.get("2026-W48")
    assert edition.status == "sent" and edition.subject
    run = store.leases.job_run("digest", "2026-W48")
    assert run.status == "ok" and run.attempts == 1

    for p in procs[2:]:  # SIGTERM: finish, give every claim back, exit 0
        p.send_signal(signal.SIGTERM)
    for p in procs[2:]:
        assert p.wait(timeout=60) == 0, p.stderr.read() if p.stderr else ""
    live = {w.pid for w in store.work.workers(now=THURSDAY, live_within=_long())}
    assert live.isdisjoint({p.pid for p in procs[2:]})  # a stopped worker says goodbye
    assert store.work.open_tasks() == [] and store.work.ledger_claims("2026-W48") == {}


def _serve(config, now: str) -> subprocess.Popen[str]:
    import os

    env = {**os.environ, "FEEDPIPE_NOW": now, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "feedpipe", "--config", str(config), "serve", "--no-web"],
                            cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_leader_is_followed_within_ten_seconds_and_no_slot_runs_twice(farm):
    app, _feeds, sink, config, procs = farm
    store = app.store
    for i in range(20):
        store.subscribers.add(f"reader{i:02d}@example.org", status="active", now=NOW)
    # the leaders' clocks start 25 s before the slot: the first enqueues the ingest and is killed,
    # the second reaches the slot and hands the edition to a worker
    start, started = NOW.replace(hour=8, minute=0) - timedelta(seconds=25), time.monotonic()

    def clock() -> str:  # one clock for every process, as NTP gives
        return (start + timedelta(seconds=time.monotonic() - started)).isoformat()

    first = _serve(config, clock())
    procs.append(first)
    wait_for(lambda: any(w.role == "leader" for w in store.work.workers(now=NOW, live_within=_long())),
             timeout=60, what="a leader")
    second = _serve(config, clock())
    procs.append(second)
    wait_for(lambda: any(w.role == "follower" for w in store.work.workers(now=NOW, live_within=_long())),
             timeout=60, what="a follower")
    [lead] = [w for w in store.work.workers(now=NOW, live_within=_long()) if w.role == "leader"]
    assert lead.pid == first.pid
    assert store.work.open_tasks()  # the leader enqueued the due sources
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: any(w.role == "leader" and w.pid == second.pid
                         for w in store.work.workers(now=NOW, live_within=_long())),
             timeout=10, every=0.1, what="the follower to lead")
    assert time.monotonic() - killed_at < 10
    procs.append(start_worker(config, now=clock()))
    wait_for(lambda: store.editions.get("2026-W48") is not None and store.editions.get("2026-W48").status == "sent",
             timeout=120, what="the edition sent")
    wait_for(lambda: store.leases.job_run("digest", "2026-W48").status != "running", timeout=30,
             what="the slot's run recorded")
    assert sorted(sink.got.values()) == [1] * 20
    run = store.leases.job_run("digest", "2026-W48")
    assert run.attempts == 1 and run.status == "ok"  # the slot ran once, across two leaders


def _long() -> timedelta:
    return timedelta(days=3650)  # the clocks of the processes start at NOW and run: compare loosely
