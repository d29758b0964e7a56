"""Feed rebuilds on the scale-out path: the leader enqueues one task per changed feed, workers claim
them one by one (side by side when there are several), and a whole-folder pass clears what is left.
In one process on SQLite: the queue's rules are the same as on PostgreSQL (tests/test_work_queue.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.core.model import CountryTag
from feedpipe.workers import Worker, tick
from tests.conftest import NOW, make_article


def test_each_changed_feed_is_one_claim_and_a_last_pass_clears_the_rest(tmp_path: Path):
    (tmp_path / "feedpipe.toml").write_text("""
[store]
path = "var/feedpipe.db"
[paths]
public = "public"
[schedule]
digest = false
""")
    app = App(load_settings(tmp_path / "feedpipe.toml", cwd=tmp_path))
    store = app.store
    store.articles.upsert([
        make_article("https://news.example.org/a/1", title="Kyiv talks", published_at=NOW,
                     countries=(CountryTag(code="UA", name="Ukraine", role="focus", score=1.0),)),
        make_article("https://news.example.org/a/2", title="Tbilisi protests", published_at=NOW,
                     countries=(CountryTag(code="GE", name="Georgia", role="focus", score=1.0),)),
    ], now=NOW)

    report = tick(app, now=NOW, holder="leader.test:1:lead")
    feed_tasks = {t.key for t in store.work.open_tasks() if t.kind == "feed"}
    assert report.feeds and {"all:", "country:UA", "country:GE"} <= feed_tasks
    assert tick(app, now=NOW, holder="leader.test:1:lead").feeds is False  # enqueued once while open

    first, second = Worker(app, holder="w.test:1:a"), Worker(app, holder="w.test:2:b")
    a = store.work.claim_task(first.holder, now=NOW, ttl=first.claim_ttl, kinds=["feed"])
    b = store.work.claim_task(second.holder, now=NOW, ttl=second.claim_ttl, kinds=["feed"])
    assert a is not None and b is not None and a.key != b.key  # two workers, two feeds, side by side
    store.work.release(first.holder)
    store.work.release(second.holder)

    tally = first.run(max_idle_steps=1)
    assert tally.feeds == len(feed_tasks)
    public = tmp_path / "public" / "feeds"
    assert (public / "all.atom").exists() and (public / "country" / "ua.atom").exists()
    assert (public / "country" / "ge.json").exists() and (public / "index.opml").exists()
    assert not [k for k in store.catalogue.dirty_keys() if k[0] in ("all", "country", "topic", "section")]

    left = store.catalogue.dirty_keys()  # the bookkeeping keys (the source's) only
    report = tick(app, now=NOW, holder="leader.test:1:lead")
    assert report.feeds == bool(left) and all(t.kind == "feeds" for t in store.work.open_tasks())
    Worker(app, holder="w.test:1:c").run(max_idle_steps=1)
    assert store.catalogue.dirty_keys() == {}
    app.close()


def test_a_step_that_fails_is_logged_and_the_worker_goes_on(tmp_path: Path, caplog):
    (tmp_path / "feedpipe.toml").write_text('[store]\npath = "var/feedpipe.db"\n[schedule]\ndigest = false\n')
    app = App(load_settings(tmp_path / "feedpipe.toml", cwd=tmp_path))
    worker = Worker(app, holder="w.test:1:d", poll_seconds=0.0)
    real, calls = worker._send_batch, []

    def refused_once() -> bool:  # the store refuses the first claim of a send batch (a deadlock, a restart)
        calls.append(1)
        if len(calls) == 1:
            raise OSError("server closed the connection unexpectedly")
        return real()

    worker._send_batch = refused_once  # type: ignore[method-assign]
    tally = worker.run(max_idle_steps=2)  # it did not end with the error: it polled again (a failed step counts as idle)
    assert len(calls) == 2 and tally.errors == ["step: OSError('server closed the connection unexpectedly')"]
    assert "worker step failed" in caplog.text
    assert app.store.work.workers(now=NOW, live_within=timedelta(days=3650)) == []  # unregistered at the end
    app.close()
