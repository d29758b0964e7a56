"""The store's lease on the scheduled work and its record of job runs (one run per slot)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedpipe.scheduler.lease import LEASE_NAME, LeaseBusy, SchedulerLease
from feedpipe.store import Store
from feedpipe.store.leases import make_holder

TTL = timedelta(minutes=5)


def test_one_holder_at_a_time_and_an_expired_lease_is_taken_over(any_store, now):
    assert any_store.leases.acquire("scheduler", "host-a:1", now=now, ttl=TTL)
    assert not any_store.leases.acquire("scheduler", "host-b:2", now=now + timedelta(minutes=1), ttl=TTL)
    assert any_store.leases.get("scheduler").holder == "host-a:1"

    # the holder renews; the other still cannot take it
    assert any_store.leases.renew("scheduler", "host-a:1", now=now + timedelta(minutes=4), ttl=TTL)
    assert not any_store.leases.acquire("scheduler", "host-b:2", now=now + timedelta(minutes=8), ttl=TTL)

    # host-a dies: once its lease runs out, host-b takes over and host-a can no longer renew
    assert any_store.leases.acquire("scheduler", "host-b:2", now=now + timedelta(minutes=9, seconds=1), ttl=TTL)
    assert not any_store.leases.renew("scheduler", "host-a:1", now=now + timedelta(minutes=10), ttl=TTL)
    lease = any_store.leases.get("scheduler")
    assert lease.holder == "host-b:2"
    assert lease.expires_at == now + timedelta(minutes=14, seconds=1)


def test_release_lets_the_next_process_in_at_once(any_store, now):
    assert any_store.leases.acquire("scheduler", "a", now=now, ttl=TTL)
    assert not any_store.leases.release("scheduler", "b"), "only the holder can release"
    assert any_store.leases.release("scheduler", "a")
    assert any_store.leases.get("scheduler") is None
    assert any_store.leases.acquire("scheduler", "b", now=now, ttl=TTL)


def test_a_slot_is_claimed_once_unless_its_run_failed_or_died(any_store, now):
    assert any_store.leases.claim_job_run("digest", "2026-W48", holder="a", now=now)
    assert not any_store.leases.claim_job_run("digest", "2026-W48", holder="b", now=now)
    assert any_store.leases.claim_job_run("digest", "2026-W49", holder="b", now=now), "another slot is free"

    any_store.leases.finish_job_run("digest", "2026-W48", holder="a", now=now, status="failed", detail="SMTP down")
    assert any_store.leases.claim_job_run("digest", "2026-W48", holder="b", now=now + timedelta(minutes=5))
    run = any_store.leases.job_run("digest", "2026-W48")
    assert (run.holder, run.status, run.attempts, run.detail) == ("b", "running", 2, None)

    any_store.leases.finish_job_run("digest", "2026-W48", holder="b", now=now + timedelta(minutes=6))
    assert any_store.leases.job_run("digest", "2026-W48").status == "ok"
    assert not any_store.leases.claim_job_run("digest", "2026-W48", holder="c", now=now + timedelta(days=1),
                                       stale_after=timedelta(minutes=1)), "a finished slot never runs again"

    # W49's holder died while running: after `stale_after` someone else may resume it
    assert not any_store.leases.claim_job_run("digest", "2026-W49", holder="c", now=now + timedelta(minutes=5),
                                       stale_after=timedelta(minutes=20))
    assert any_store.leases.claim_job_run("digest", "2026-W49", holder="c", now=now + timedelta(minutes=21),
                                   stale_after=timedelta(minutes=20))
    assert [r.slot for r in any_store.leases.job_runs("digest")] == ["2026-W49", "2026-W48"]


def _race(url: str, holder: str, slots: int, start, out) -> None:
    store = Store.open(url, now=datetime.now(UTC))
    start.wait()
    won = [s for s in range(slots)
           if store.leases.claim_job_run("digest", f"slot-{s}", holder=holder, now=datetime.now(UTC))]
    lease = sum(store.leases.acquire("scheduler", holder, now=datetime.now(UTC), ttl=TTL) for _ in range(20))
    out.put((holder, won, lease))
    store.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_processes_racing_on_one_store_never_claim_a_slot_twice(request, database, tmp_path: Path, now):
    url = f"sqlite:///{tmp_path / 'shared.db'}" if database == "sqlite" else request.getfixturevalue("pg_url")
    Store.open(url, now=now).close()
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, f"proc-{i}", 60, start, out)) for i in range(3)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    claimed = sorted(s for _, won, _ in results for s in won)
    assert claimed == list(range(60)), "every slot claimed exactly once across the processes"
    holders_with_lease = [h for h, _, got in results if got]
    assert len(holders_with_lease) == 1, f"exactly one process holds the lease, got {holders_with_lease}"


# -- a holder that died -------------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_lease_whose_holder_died_on_this_host_is_taken_over_at_once(any_store, now):
    dead = f"{socket.gethostname()}:{_dead_pid()}:0badc0de"
    assert any_store.leases.acquire("scheduler", dead, now=now, ttl=TTL)
    me = make_holder()
    assert any_store.leases.acquire("scheduler", me, now=now + timedelta(seconds=1), ttl=TTL)
    assert any_store.leases.get("scheduler").holder == me
    assert not any_store.leases.renew("scheduler", dead, now=now + timedelta(seconds=2), ttl=TTL)


def test_a_live_holder_or_one_on_another_host_keeps_the_lease_until_it_expires(any_store, now, live_pid):
    live = f"{socket.gethostname()}:{live_pid}:0000beef"
    elsewhere = f"other-host.example:{_dead_pid()}:0000f00d"  # that pid means nothing here
    for i, holder in enumerate((live, elsewhere)):
        name = f"lease-{i}"
        assert any_store.leases.acquire(name, holder, now=now, ttl=TTL)
        assert not any_store.leases.acquire(name, make_holder(), now=now + timedelta(minutes=4), ttl=TTL)
        assert any_store.leases.acquire(name, make_holder(), now=now + TTL, ttl=TTL)


def test_a_job_run_whose_holder_died_on_this_host_may_run_again_at_once(any_store, now, live_pid):
    dead = f"{socket.gethostname()}:{_dead_pid()}:0badc0de"
    live = f"{socket.gethostname()}:{live_pid}:0000beef"
    assert any_store.leases.claim_job_run("digest", "2026-W48", holder=dead, now=now)
    assert any_store.leases.claim_job_run("digest", "2026-W49", holder=live, now=now)
    later = now + timedelta(minutes=1)
    stale = timedelta(minutes=10)
    assert any_store.leases.claim_job_run("digest", "2026-W48", holder=make_holder(), now=later, stale_after=stale)
    assert not any_store.leases.claim_job_run("digest", "2026-W49", holder=make_holder(), now=later,
                                              stale_after=stale)


HOLD_LEASE = """
import sys, time
from datetime import timedelta
from feedpipe.scheduler.lease import SchedulerLease, make_holder
from feedpipe.store import Store
from tests.conftest import NOW
store = Store.open(sys.argv[1], now=NOW)
SchedulerLease(store, make_holder(), timedelta(minutes=5)).acquire(NOW)
print("held", flush=True)
time.sleep(120)
"""


def test_after_a_killed_run_the_next_cron_run_takes_the_scheduler_lease_at_once(tmp_path: Path, now):
    url = f"sqlite:///{tmp_path / 'cron.db'}"
    root = Path(__file__).parent.parent
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LEASE, url], stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(root)}, cwd=root)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        store = Store.open(url, now=now)
        held_by = store.leases.get(LEASE_NAME).holder
        assert held_by.split(":")[1] == str(proc.pid)
        with pytest.raises(LeaseBusy):  # alive: refused, as before
            SchedulerLease(store, make_holder(), TTL).acquire(now + timedelta(minutes=1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mine = SchedulerLease(store, make_holder(), TTL)
        mine.acquire(now + timedelta(minutes=1))  # at once, not 5 minutes later (exit 4 until then)
        assert store.leases.get(LEASE_NAME).holder == mine.holder
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
