"""The scale-out queue in the store, as workers use it: tasks claimed once, one claim per host at a
time, a lapsed or dead claim back in the pool, batches of a send that never overlap, a shared rate."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest

from feedpipe.core.errors import StoreError
from feedpipe.store import Store
from feedpipe.store.work import QUEUE_HOLDER, LeaderLock

TTL = timedelta(seconds=60)
ALIVE_A, ALIVE_B = "elsewhere.example:1:aaaa", "elsewhere.example:2:bbbb"  # another host: never "dead"


def _dead_holder() -> str:
    """A holder naming a process of this host that has exited."""
    import socket

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{done.stdout.strip()}:dead"


def test_a_task_is_enqueued_once_while_open_and_claimed_by_one_worker(any_store: Store, now):
    work = any_store.work
    assert work.enqueue("ingest", "bbc", now=now, host="feeds.bbci.co.uk")
    assert not work.enqueue("ingest", "bbc", now=now, host="feeds.bbci.co.uk")  # still open
    task = work.claim_task(ALIVE_A, now=now, ttl=TTL, kinds=["ingest"])
    assert task is not None and task.key == "bbc" and task.claimed_by == ALIVE_A and task.attempts == 1
    assert work.claim_task(ALIVE_B, now=now, ttl=TTL, kinds=["ingest"]) is None
    assert work.finish_task(task.id, ALIVE_A, now=now, outcome="ok: 3 new")
    assert work.open_tasks() == []
    assert work.enqueue("ingest", "bbc", now=now + TTL, host="feeds.bbci.co.uk")  # done: due again later


def test_a_leader_tick_enqueues_many_in_one_go_and_skips_the_open_ones(any_store: Store, now):
    work = any_store.work
    assert work.enqueue("ingest", "b", now=now, host="b.example")
    added = work.enqueue_many("ingest", [("a", "a.example"), ("b", "b.example"), ("c", None)], now=now)
    assert added == ["a", "c"]
    assert [(t.key, t.host) for t in work.open_tasks()] == [("b", "b.example"), ("a", "a.example"), ("c", None)]
    assert work.enqueue_many("ingest", [], now=now) == []


def test_a_host_with_a_request_in_flight_is_skipped_until_its_claim_ends(any_store: Store, now):
    work = any_store.work
    for name, host in (("a1", "a.example"), ("a2", "a.example"), ("b1", "b.example")):
        work.enqueue("ingest", name, now=now, host=host)
    first = work.claim_task(ALIVE_A, now=now, ttl=TTL, kinds=["ingest"])
    second = work.claim_task(ALIVE_B, now=now, ttl=TTL, kinds=["ingest"])
    assert (first.key, second.key) == ("a1", "b1")  # a2 waits: a.example is busy
    assert work.claim_task("elsewhere.example:3:cccc", now=now, ttl=TTL, kinds=["ingest"]) is None
    work.finish_task(first.id, ALIVE_A, now=now, outcome="ok")
    third = work.claim_task("elsewhere.example:3:cccc", now=now, ttl=TTL, kinds=["ingest"])
    assert third is not None and third.key == "a2"


def test_a_lapsed_claim_returns_to_the_pool_and_a_dead_holders_at_once(any_store: Store, now):
    work = any_store.work
    work.enqueue("ingest", "slow", now=now, host="slow.example")
    work.enqueue("ingest", "dead", now=now, host="dead.example")
    assert work.claim_task(ALIVE_A, now=now, ttl=TTL, kinds=["ingest"]).key == "slow"
    dead = _dead_holder()
    assert work.claim_task(dead, now=now, ttl=TTL, kinds=["ingest"]).key == "dead"
    # at once: the dead process's task; the live remote one is kept until its claim lapses
    taken = work.claim_task(ALIVE_B, now=now + timedelta(seconds=1), ttl=TTL, kinds=["ingest"])
    assert taken.key == "dead" and taken.attempts == 2
    assert work.claim_task("elsewhere.example:3:c", now=now + timedelta(seconds=1), ttl=TTL, kinds=["ingest"]) is None
    later = work.claim_task("elsewhere.example:3:c", now=now + TTL + timedelta(seconds=1), ttl=TTL, kinds=["ingest"])
    assert later.key == "slow"
    assert not work.finish_task(later.id, ALIVE_A, now=now + TTL, outcome="late")  # A lost it


def test_renewed_claims_hold_and_release_gives_them_back_at_once(any_store: Store, now):
    work = any_store.work
    work.enqueue("feeds", "dirty", now=now)
    task = work.claim_task(ALIVE_A, now=now, ttl=TTL, kinds=["feeds"])
    work.renew(ALIVE_A, now=now + TTL - timedelta(seconds=5), ttl=TTL)
    assert work.claim_task(ALIVE_B, now=now + TTL + timedelta(seconds=1), ttl=TTL, kinds=["feeds"]) is None
    assert work.release(ALIVE_A) == 1
    assert work.claim_task(ALIVE_B, now=now + TTL, ttl=TTL, kinds=["feeds"]).id == task.id


def _open_edition(store: Store, now, n: int) -> str:
    for i in range(n):
        store.subscribers.add(f"reader{i:03d}@example.org", status="active", now=now)
    store.editions.claim("2026-W48", now, lease=TTL, holder=QUEUE_HOLDER)
    store.ledger.enqueue("2026-W48", now=now)
    return "2026-W48"


def test_batches_of_a_send_never_overlap_and_a_dead_workers_rows_come_back(any_store: Store, now):
    key = _open_edition(any_store, now, 25)
    work = any_store.work
    assert work.queued_editions() == [key]
    a, _ = work.claim_ledger_batch(key, ALIVE_A, now=now, ttl=TTL, limit=10)
    dead = _dead_holder()
    d, _ = work.claim_ledger_batch(key, dead, now=now, ttl=TTL, limit=10)
    assert len(a) == len(d) == 10 and not set(a) & set(d)
    # the dead worker had one message in flight, and nine rows not started
    any_store.ledger.claim(key, d[0], now=now)
    b, recovered = work.claim_ledger_batch(key, ALIVE_B, now=now, ttl=TTL, limit=100)
    assert recovered == 1 and any_store.ledger.entry(key, d[0]).state == "uncertain"
    assert set(b) == ({f"reader{i:03d}@example.org" for i in range(25)} - set(a) - {d[0]})
    assert work.ledger_claims(key) == {ALIVE_A: 10, ALIVE_B: 14}
    mine = [s.email for s in any_store.ledger.pending_subscribers(key, claimed_by=ALIVE_A)]
    assert mine == sorted(a)
    assert work.unclaimed_work(key) == 24


def test_the_shared_rate_hands_out_tokens_across_workers(any_store: Store, now):
    work = any_store.work
    assert work.take_tokens("send", 8, rate=10, burst=10, now=now) == (8, 0.0)
    granted, wait = work.take_tokens("send", 8, rate=10, burst=10, now=now)
    assert granted == 2 and wait == 0.0
    granted, wait = work.take_tokens("send", 8, rate=10, burst=10, now=now)
    assert granted == 0 and 0 < wait <= 0.1
    assert work.take_tokens("send", 8, rate=10, burst=10, now=now + timedelta(seconds=0.5))[0] == 5


def test_workers_report_their_heartbeat_and_what_they_hold(any_store: Store, now):
    work = any_store.work
    work.heartbeat(ALIVE_A, role="worker", now=now, doing="ingest bbc")
    work.heartbeat(ALIVE_A, role="worker", now=now + timedelta(seconds=5), doing="ingest bbc")
    work.heartbeat(ALIVE_B, role="leader", now=now - timedelta(minutes=30))
    [only] = work.workers(now=now + timedelta(seconds=5), live_within=timedelta(minutes=2))
    assert (only.host, only.pid, only.doing, only.doing_since) == ("elsewhere.example", 1, "ingest bbc", now)


def test_the_leader_lock_needs_postgresql(store: Store):
    with pytest.raises(StoreError, match="PostgreSQL"):
        LeaderLock(store.db)


LEAD_AND_WAIT = """
import sys, time
from datetime import UTC, datetime
from feedpipe.store import Store
from feedpipe.store.work import LeaderLock
lock = LeaderLock(Store.open(sys.argv[1], now=datetime.now(UTC)).db)
print("leading" if lock.try_lead() else "following", flush=True)
time.sleep(120)
"""


def test_one_leader_at_a_time_and_a_killed_leaders_lock_is_free_within_seconds(pg_url, now):
    store = Store.open(pg_url, now=now)
    leader = subprocess.Popen([sys.executable, "-c", LEAD_AND_WAIT, pg_url], stdout=subprocess.PIPE, text=True)
    try:
        assert leader.stdout.readline().strip() == "leading"
        follower = LeaderLock(store.db)
        assert not follower.try_lead() and not follower.still_leading()
        leader.kill()  # kill -9: the server drops the lock with the connection
        leader.wait()
        deadline = time.monotonic() + 10
        while not follower.try_lead():
            assert time.monotonic() < deadline, "the follower did not lead within 10 s"
            time.sleep(0.2)
        assert follower.still_leading()
        other = LeaderLock(store.db)
        assert not other.try_lead()
        follower.release()
        assert other.try_lead()
        other.release()
    finally:
        leader.kill()
        store.close()
