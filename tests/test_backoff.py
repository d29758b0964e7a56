"""Sources that keep failing back off: exponential delays (capped at a day), a count of consecutive
failures per source, a pause after `[schedule] pause_after_failures` of them with one warning, and a
success or `feedpipe sources --resume NAME` to reset it. A real HTTP server on 127.0.0.1 answers 500;
time is handed in, nothing sleeps."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from feedpipe.app import App
from feedpipe.cli import run
from feedpipe.cli.context import EXIT_CONFIG, EXIT_OK
from feedpipe.config import load_settings
from feedpipe.core.clock import fixed_clock
from feedpipe.core.errors import ConfigError
from feedpipe.core.model import Source
from feedpipe.ingest import ingest
from feedpipe.scheduler.jobs import run_ingest_job
from feedpipe.store import Store
from tests.httpfixtures import LocalServer, local_server, send

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://example.org/</link>'
       b"<description>d</description><item><title>Kyiv hit by drones</title><link>https://example.org/a</link>"
       b"<guid>a</guid><description>Officials said drones struck Kyiv.</description></item></channel></rss>")


def write_config(tmp_path: Path, server: LocalServer, names: list[str], *, schedule: str = "") -> Path:
    cfg = tmp_path / "feedpipe.toml"
    sources = "".join(f'[[sources]]\nname = "{n}"\ntype = "feed"\nurl = "{server.url("/" + n)}"\n' for n in names)
    cfg.write_text(f"""
[store]
path = "var/feedpipe.db"
[paths]
public = "public"
[fetch]
connect_timeout = 2
read_timeout = 2
deadline = 5
allow_private_addresses = true  # the test server is on 127.0.0.1
[schedule]
feeds_after_ingest = false
{schedule}
{sources}""", encoding="utf-8")
    return cfg


def broken(server: LocalServer, name: str, status: int = 500, headers: dict[str, str] | None = None) -> None:
    server.routes["/" + name] = lambda h: send(h, status, b"down", {"Content-Type": "text/plain", **(headers or {})})


def fetched(server: LocalServer, name: str) -> int:
    return sum(1 for path, _ in server.requests if path == "/" + name)


def feedpipe_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("feedpipe") and r.levelno == level]


def test_five_broken_feeds_ticked_every_minute_back_off_and_pause_with_one_warning_each(tmp_path, caplog):
    names = [f"broken{i}" for i in range(5)]
    with local_server() as server:
        for n in names:
            broken(server, n)
        cfg = write_config(tmp_path, server, names, schedule="ingest_minutes = 1\npause_after_failures = 4")
        app = App(load_settings(cfg, cwd=tmp_path), clock=fixed_clock(T0))
        attempts: dict[str, list[int]] = {n: [] for n in names}
        caplog.set_level(logging.DEBUG, logger="feedpipe")
        for minute in range(0, 60):  # `serve`, ingesting every minute, for an hour
            before = {n: fetched(server, n) for n in names}
            run_ingest_job(app, now=T0 + timedelta(minutes=minute))
            for n in names:
                if fetched(server, n) > before[n]:
                    attempts[n].append(minute)
        later = [run_ingest_job(app, now=T0 + timedelta(days=d)) for d in (1, 2, 7)]  # nothing is due any more

    assert all(a == [0, 1, 3, 7] for a in attempts.values()), attempts  # waits of 1, 2, 4 minutes, then paused
    assert later == [None, None, None]
    assert feedpipe_records(caplog, logging.ERROR) == []
    warnings = [r.getMessage() for r in feedpipe_records(caplog, logging.WARNING)]
    assert len(warnings) == 5 * 4  # three failed attempts and one pause per source, not a line per tick
    second = [w for w in warnings if w.startswith("source broken0 failed (attempt 2 of 4 before it is paused): ")]
    assert len(second) == 1 and "HTTP 500" in second[0] and second[0].endswith("next try at 2026-11-27 09:03 UTC")
    paused = [w for w in warnings if "paused after" in w]
    assert len(paused) == 5 and all("resume with `feedpipe sources --resume broken" in w for w in paused)
    state = app.store.sources.state("broken0")
    assert state is not None and state.status == "paused" and state.failures == 4
    assert state.error is not None and "500" in state.error and "4 consecutive failures" in state.error


def test_the_delays_double_from_the_interval_up_to_a_day(any_store):
    from feedpipe.ingest.due import next_fetch_at

    source = Source(name="s", kind="feed", location="https://down.example.org/rss", interval_minutes=15)
    waits = []
    for _ in range(10):
        state = any_store.sources.record_fetch(name="s", kind="feed", location=source.location, now=T0,
                                               status="error", error="HTTP 500", pause_after=0)
        when = next_fetch_at(source, state)
        assert when is not None
        waits.append(int((when - T0).total_seconds() // 60))
    assert waits == [15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440]
    assert state.failures == 10 and not state.paused, "pause_after = 0 never pauses"

    ok = any_store.sources.record_fetch(name="s", kind="feed", location=source.location, now=T0, status="ok")
    assert ok.failures == 0 and next_fetch_at(source, ok) == T0 + timedelta(minutes=15), "a success resets it"


def test_retry_after_still_applies_when_it_is_later_than_the_backoff(tmp_path):
    with local_server() as server:
        broken(server, "busy", 503, {"Retry-After": "7200"})
        cfg = write_config(tmp_path, server, ["busy"], schedule="ingest_minutes = 1")
        app = App(load_settings(cfg, cwd=tmp_path), clock=fixed_clock(T0))
        seen = []
        for minute in range(0, 200):
            if run_ingest_job(app, now=T0 + timedelta(minutes=minute)) is not None:
                seen.append(minute)
    assert seen == [0, 120], "the server's two hours, not the backoff's one minute"
    assert app.store.sources.state("busy").failures == 2


def test_a_success_resets_the_count_and_the_delay(tmp_path):
    with local_server() as server:
        broken(server, "flaky")
        cfg = write_config(tmp_path, server, ["flaky"], schedule="ingest_minutes = 10")
        app = App(load_settings(cfg, cwd=tmp_path), clock=fixed_clock(T0))
        for minute in (0, 10, 30):
            assert run_ingest_job(app, now=T0 + timedelta(minutes=minute)) is not None
        assert app.store.sources.state("flaky").failures == 3
        assert run_ingest_job(app, now=T0 + timedelta(minutes=69)) is None, "the third failure waits 40 minutes"
        server.routes["/flaky"] = lambda h: send(h, 200, RSS, {"Content-Type": "application/rss+xml"})
        report = run_ingest_job(app, now=T0 + timedelta(minutes=70))
        assert report is not None and report.results[0].status == "ok"
        state = app.store.sources.state("flaky")
        assert state.failures == 0 and state.status == "ok" and not state.paused
        assert run_ingest_job(app, now=T0 + timedelta(minutes=80)) is not None, "back to every 10 minutes"


def test_a_paused_source_is_listed_skipped_even_by_force_and_resumed_from_the_cli(tmp_path, capsys):
    with local_server() as server:
        broken(server, "dead")
        server.routes["/alive"] = lambda h: send(h, 200, RSS, {"Content-Type": "application/rss+xml"})
        cfg = write_config(tmp_path, server, ["dead", "alive"], schedule="pause_after_failures = 2")

        def cli(*args: str, at: datetime = T0) -> int:
            return run(["--config", str(cfg), "--now", at.isoformat(), *args])

        cli("ingest")
        cli("ingest", "--force", at=T0 + timedelta(minutes=1))
        assert fetched(server, "dead") == 2
        capsys.readouterr()
        cli("--quiet", "sources", "--json")
        rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
        assert rows["dead"]["status"] == "paused" and rows["dead"]["paused"] is True
        assert rows["dead"]["failures"] == 2 and "2 consecutive failures" in rows["dead"]["error"]
        assert rows["dead"]["paused_at"].startswith("2026-11-27T09:01:00")  # `--now`: time runs on from there
        assert rows["alive"]["status"] == "ok" and rows["alive"]["failures"] == 0 and not rows["alive"]["paused"]
        assert cli("sources") == EXIT_OK
        table = capsys.readouterr().out
        assert "paused" in table and "consecutive" in table

        assert cli("ingest", "--force", at=T0 + timedelta(days=3)) == EXIT_OK, "a paused source is not a failure"
        assert fetched(server, "dead") == 2, "--force does not fetch a paused source"
        assert "paused" in capsys.readouterr().out

        assert cli("sources", "--resume", "dead", at=T0 + timedelta(days=3)) == EXIT_OK
        assert "resumed dead" in capsys.readouterr().out
        state = App(load_settings(cfg, cwd=tmp_path), clock=fixed_clock(T0)).store.sources.state("dead")
        assert state.status == "resumed" and state.failures == 0 and not state.paused
        cli("ingest", at=T0 + timedelta(days=3))
        assert fetched(server, "dead") == 3, "a resumed source is due at the next run"

        cli("ingest", at=T0 + timedelta(days=4))
        assert cli("sources", "resume", "dead", at=T0 + timedelta(days=4)) == EXIT_OK
        assert cli("sources", "--resume", "nope") == EXIT_CONFIG
        assert "no source is named 'nope'" in capsys.readouterr().err


def test_a_paused_source_with_a_new_url_starts_afresh(store):
    from feedpipe.ingest.due import is_paused, next_fetch_at

    old = Source(name="s", kind="feed", location="https://old.example.org/rss")
    for _ in range(3):
        state = store.sources.record_fetch(name="s", kind="feed", location=old.location, now=T0, status="error",
                                           error="HTTP 404", pause_after=3)
    assert is_paused(old, state)
    moved = Source(name="s", kind="feed", location="https://new.example.org/rss")
    assert not is_paused(moved, state) and next_fetch_at(moved, state) is None
    again = store.sources.record_fetch(name="s", kind="feed", location=moved.location, now=T0, status="error",
                                       error="HTTP 500", pause_after=3)
    assert again.failures == 1 and not again.paused


def test_pause_after_failures_is_a_schedule_key_with_a_default_of_ten(tmp_path):
    assert load_settings(None, cwd=tmp_path).schedule.pause_after_failures == 10
    cfg = tmp_path / "feedpipe.toml"
    cfg.write_text("[schedule]\npause_after_failures = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, cwd=tmp_path)
    assert any("[schedule] pause_after_failures: must be a whole number >= 0" in p
               and p.endswith("e.g. pause_after_failures = 10") for p in err.value.problems)


def test_an_older_database_gains_the_failure_columns(sqlite_url):
    Store.open(sqlite_url, now=T0).close()
    old = Store.open(sqlite_url, now=T0)
    with old.db.write() as conn:  # back to the schema before migration 4
        conn.execute(text("ALTER TABLE sources DROP COLUMN failures"))
        conn.execute(text("ALTER TABLE sources DROP COLUMN paused_at"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version = 4"))
        conn.execute(text("INSERT INTO sources (name, kind, location, last_new, last_updated, last_unchanged, "
                          "last_failed, total_articles) VALUES ('s', 'feed', 'https://x.example.org/', 0, 0, 0, 0, 0)"))
    old.close()
    store = Store.open(sqlite_url, now=T0)
    state = store.sources.state("s")
    assert state is not None and state.failures == 0 and not state.paused and 4 in store.schema_versions()
    store.close()


def test_ingest_reports_a_backed_off_source_as_backoff_not_as_a_failure(tmp_path):
    with local_server() as server:
        broken(server, "down")
        cfg = write_config(tmp_path, server, ["down"])
        app = App(load_settings(cfg, cwd=tmp_path), clock=fixed_clock(T0))
        first = ingest(app, now=T0)
        second = ingest(app, now=T0 + timedelta(minutes=1))
    assert first.results[0].status == "error" and len(first.failed_sources) == 1
    assert second.results[0].status == "backoff" and second.failed_sources == ()
    assert "next try at 2026-11-27 09:15 UTC" in (second.results[0].error or "")
