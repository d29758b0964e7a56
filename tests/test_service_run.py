"""`feedpipe serve` as a process: one scheduler per store, a missed digest caught up once, SIGTERM
finishes cleanly. The in-process tests use a fixed clock; the CLI tests run the real command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from feedpipe.app import App
from feedpipe.config import load_settings
from feedpipe.core.model import SendReport
from feedpipe.digest.editions import due_edition
from feedpipe.scheduler.lease import LEASE_NAME, LeaseBusy, hold_lease
from feedpipe.scheduler.service import Service
from tests.conftest import make_article

REPO = Path(__file__).resolve().parent.parent
FRIDAY_9AM = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # the digest (Friday 08:00 London) is an hour late

CONFIG = """
[outlet]
name = "The Example Times"
public_url = "https://news.example.org"
timezone = "Europe/London"

[store]
path = "var/feedpipe.db"

[paths]
public = "public"

[digest]
day = "friday"
time = "08:00"
timezone = "Europe/London"

[mail]
transport = "outbox"
outbox = "outbox"

[schedule]
ingest_minutes = 10
lease_ttl_seconds = 60
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feedpipe.toml"
    path.write_text(CONFIG)
    return path


class SetClock:
    """The app's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def make_app(config: Path, now: datetime = FRIDAY_9AM) -> App:
    return App(load_settings(config, cwd=config.parent), clock=SetClock(now))


class Sender:
    """A DigestSender standing in for `pipeline.send_due_digest`: sends what the digest says is due
    (marking it sent, as the real send does) and records when; `pause` seconds while sending."""

    def __init__(self, pause: float = 0.0, steps: list[str] | None = None) -> None:
        self.sent: list[datetime] = []
        self.pause = pause
        self.steps = steps if steps is not None else []

    def __call__(self, app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        key = due_edition(now, app.settings.digest, app.store)
        if key is None:
            return None, None
        self.steps.append("started")
        time.sleep(self.pause)
        app.store.editions.finish(key, "sent", now=now)
        self.sent.append(now)
        self.steps.append("finished")
        return key, SendReport(edition=key, sent=1)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_second_service_is_refused_and_a_missed_digest_is_caught_up_once(config):
    sender = Sender()
    first_app, second_app = make_app(config), make_app(config)
    first = Service(first_app, holder="first", send=sender)
    first.start()
    try:
        assert wait_until(lambda: (run := first_app.store.leases.job_run("digest", "2026-W48")) and run.status == "ok")
        assert sender.sent == [FRIDAY_9AM], "the digest missed at 08:00 is sent on start-up at 09:00"

        second = Service(second_app, holder="second", send=sender)
        with pytest.raises(LeaseBusy, match="already being run by first") as refused:
            second.start()
        assert "feedpipe web" in refused.value.hint
    finally:
        first.stop()
    assert first_app.store.leases.get(LEASE_NAME) is None, "a clean stop releases the lease"

    # now the second one may run; the edition is already done, so it sends nothing
    second.start()
    try:
        assert second_app.store.leases.get(LEASE_NAME).holder == "second"
        assert wait_until(lambda: second.digest_runs), "its start-up catch-up ran"
        assert second.digest_runs[0].action == "done"
    finally:
        second.stop()
    assert sender.sent == [FRIDAY_9AM]
    first_app.close()
    second_app.close()


def test_stop_lets_the_running_step_finish(config):
    app = make_app(config)
    steps: list[str] = []
    service = Service(app, holder="slow", send=Sender(pause=0.5, steps=steps))
    service.start()
    assert wait_until(lambda: steps == ["started"])
    service.stop()
    assert steps == ["started", "finished"]
    assert app.store.leases.job_run("digest", "2026-W48").status == "ok"
    app.close()


TOKYO = ZoneInfo("Asia/Tokyo")
WEDNESDAY_0630_TOKYO = datetime(2026, 12, 2, 6, 30, tzinfo=TOKYO)  # Tuesday 21:30 UTC; edition 2026-W49


def test_a_wednesday_tokyo_edition_is_sent_by_serve_at_its_slot_exactly_once(config):
    """The digest's own day, time and zone (not the outlet's London, not a [schedule] guess) decide
    when `serve` sends; the real send writes one message per subscriber to the outbox."""
    config.write_text(config.read_text().replace('day = "friday"\ntime = "08:00"\ntimezone = "Europe/London"',
                                                 'day = "wednesday"\ntime = "06:30"\ntimezone = "Asia/Tokyo"'))
    slot = WEDNESDAY_0630_TOKYO
    app = make_app(config, slot - timedelta(minutes=1))
    assert (app.settings.digest.day, app.settings.outlet.timezone) == ("wednesday", "Europe/London")
    app.store.subscribers.add("reader@example.org", status="active", now=slot - timedelta(days=3))
    app.store.articles.upsert([make_article("https://news.example.org/a/tokyo", title="Talks in Tokyo",
                                            published_at=slot - timedelta(days=1))], now=slot - timedelta(days=1))
    outbox = config.parent / "outbox"
    clock = app.clock
    assert isinstance(clock, SetClock)

    service = Service(app, holder="tokyo")  # the real pipeline.send_due_digest
    service.start(ingest_now=False)
    try:
        # its weekly trigger is Wednesday 06:30 in Tokyo
        [digest_at] = [when for job, when in service.next_runs() if job == "digest"]
        local = digest_at.astimezone(TOKYO)
        assert (local.weekday(), local.hour, local.minute) == (2, 6, 30)

        # a minute before the slot: the start-up check finds last week's edition past its grace
        assert wait_until(lambda: len(service.digest_runs) == 1)
        assert service.digest_runs[0].action == "missed"
        assert app.store.leases.job_runs("digest") == [] and not outbox.exists()

        # the slot: the weekly trigger fires and the edition goes out
        clock.at = slot
        service.fire("digest")
        assert wait_until(lambda: len(service.digest_runs) == 2)
        run = service.digest_runs[1]
        assert (run.slot.key, run.slot.at, run.action) == ("2026-W49", slot, "sent")
        assert app.store.leases.job_run("digest", "2026-W49").status == "ok"
        assert app.store.editions.get("2026-W49").status == "sent"

        # fired again (as on an autumn DST overlap) and re-checked later: nothing more is sent
        service.fire("digest")
        assert wait_until(lambda: len(service.digest_runs) == 3)
        clock.at = slot + timedelta(hours=1)
        service.fire("digest-recheck")
        assert wait_until(lambda: len(service.digest_runs) == 4)
        assert [r.action for r in list(service.digest_runs)[2:]] == ["done", "done"]
    finally:
        service.stop()
    messages = list(outbox.glob("*.eml"))
    assert len(messages) == 1 and "Talks in Tokyo" in messages[0].read_text()
    app.close()


def feedpipe(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "feedpipe", "--config", str(config), *args]


def test_serve_runs_web_and_scheduler_and_exits_cleanly_on_sigterm(config):
    config.write_text(config.read_text() + f"""
[[sources]]
name = "world"
type = "file"
path = "{REPO / 'samples' / 'feeds' / 'world.rss'}"
""")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(feedpipe(config, "serve", "--port", "0"), cwd=config.parent, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if found := re.search(r"serving (http://\S+) ", line):
                url = found.group(1)
        assert url, "serve printed its address"
        health = requests.get(url + "/healthz", timeout=5).json()
        assert health["scheduler"]["active"] is True

        # the first ingest runs at start and its feed is served over HTTP
        assert wait_until(lambda: requests.get(url + "/feeds/all.atom", timeout=5).status_code == 200, 30)
        feed = requests.get(url + "/feeds/all.atom", timeout=5)
        assert feed.headers["Content-Type"] == "application/atom+xml; charset=utf-8" and b"<entry>" in feed.content

        # a second scheduler on the same store is refused, with the holder named
        second = subprocess.run(feedpipe(config, "serve", "--no-web"), cwd=config.parent, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 4
        assert "already being run by" in second.stderr

        listing = subprocess.run(feedpipe(config, "schedule"), cwd=config.parent, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert re.search(r"digest\s+Fri \d{4}-\d\d-\d\d 08:00 GMT", listing.stdout), listing.stdout
        assert "scheduler: held by" in listing.stdout

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "stopped cleanly" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    app = make_app(config)
    assert app.store.leases.get(LEASE_NAME) is None, "the lease was released on SIGTERM"
    app.close()


def test_a_cron_run_takes_the_same_lease_as_serve(config):
    serving, cron = make_app(config), make_app(config)
    service = Service(serving, holder="serve-1")
    service.start()
    try:
        with pytest.raises(LeaseBusy, match="serve-1"), hold_lease(cron):
            pass
    finally:
        service.stop()
    with hold_lease(cron, holder="cron-1"):
        assert cron.store.leases.get(LEASE_NAME).holder == "cron-1"
    assert cron.store.leases.get(LEASE_NAME) is None
    serving.close()
    cron.close()


def test_web_alone_serves_without_taking_the_scheduler_lease(config):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(feedpipe(config, "web", "--port", "0"), cwd=config.parent, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            if found := re.search(r"serving (http://\S+)", proc.stderr.readline()):
                url = found.group(1)
        assert url
        assert requests.get(url + "/healthz", timeout=5).json()["scheduler"] is None
        assert requests.get(url + "/subscribe", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
