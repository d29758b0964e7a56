"""The scheduler decides nothing alone: the digest slot (one per ISO week in the outlet's zone) and
the store's claim on it do. Time is injected; nothing sleeps."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from feedpipe.config.schedule import parse_schedule_settings
from feedpipe.core.settings import ScheduleSettings
from feedpipe.schedule import DigestTiming, digest_slot, next_runs, run_digest_job
from feedpipe.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")


def make_app(store, **schedule) -> SimpleNamespace:
    """What the digest job needs of the App: settings and the store."""
    return SimpleNamespace(settings=SimpleNamespace(schedule=ScheduleSettings(**schedule), digest=None,
                                                    outlet=None), store=store)


class Outbox:
    """Stands in for `pipeline.send_due_digest`: records which edition was sent when."""

    def __init__(self) -> None:
        self.sent: list[datetime] = []

    def __call__(self, app, *, now: datetime) -> str:
        self.sent.append(now)
        return "edition"


def ticks(start: datetime, end: datetime, every: timedelta):
    t = start
    while t < end:
        yield t
        t += every


def iso_week(moment: datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


# -- settings ---------------------------------------------------------------------------------------


def test_schedule_settings_defaults_and_values():
    settings, problems = parse_schedule_settings({}, where="feedpipe.toml")
    assert problems == []
    assert settings.ingest_minutes == 15 and settings.digest_grace_hours is None  # 12 h unless [digest] says
    settings, problems = parse_schedule_settings(
        {"ingest_minutes": 5, "digest_day": "Fri", "digest_time": "07:30", "timezone": "Europe/Moscow",
         "digest_grace_hours": 6, "lease_ttl_seconds": 120}, where="feedpipe.toml")
    assert problems == []
    assert (settings.digest_day, settings.digest_time, settings.timezone) == ("friday", time(7, 30), "Europe/Moscow")
    assert settings.digest_grace_hours == 6.0


def test_every_schedule_problem_is_listed_with_key_and_example():
    _, problems = parse_schedule_settings(
        {"ingest_minutes": 0, "digest_day": "Freitag", "digest_time": "25:00", "timezone": "Mars/Olympus",
         "digest_grace_hours": "twelve", "lease_ttl_seconds": 5, "ingest_minute": 3}, where="/etc/feedpipe.toml")
    text = "\n".join(problems)
    assert len(problems) == 7, text
    assert all(p.startswith("/etc/feedpipe.toml schedule.") for p in problems)
    assert "schedule.ingest_minutes: must be a positive whole number at most 1440, got 0 - e.g. ingest_minutes = 15" in text
    assert "'Freitag' is not a day of the week - e.g. digest_day = \"friday\"" in text
    assert "'25:00' is not a time of day HH:MM" in text
    assert "'Mars/Olympus' is not an IANA time zone" in text
    assert "did you mean 'ingest_minutes'?" in text


# -- DST ----------------------------------------------------------------------------------------------


def test_a_local_time_in_the_dst_gap_and_overlap_is_one_instant():
    timing = DigestTiming(weekday=6, at=time(2, 30), tz=BERLIN, grace=timedelta(hours=12))
    # spring: 02:30 does not exist on 29 March 2026; the slot is 03:30 summer time (01:30 UTC)
    spring = digest_slot(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), timing)
    assert spring.key == "2026-W13"
    assert spring.at.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # autumn: 02:30 happens twice on 25 October 2026; the slot is the first one (00:30 UTC)
    autumn = digest_slot(datetime(2026, 10, 25, 12, 0, tzinfo=UTC), timing)
    assert autumn.key == "2026-W43"
    assert autumn.at.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # between the two 02:30s of that night, the second is not a new slot
    between = digest_slot(datetime(2026, 10, 25, 1, 45, tzinfo=UTC), timing)
    assert between == autumn


@pytest.mark.parametrize("period", [
    (datetime(2026, 3, 15, tzinfo=UTC), datetime(2026, 4, 12, tzinfo=UTC)),  # spring forward, 29 March
    (datetime(2026, 10, 11, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)),  # fall back, 25 October
], ids=["spring-gap", "autumn-overlap"])
def test_weekly_digest_inside_the_dst_gap_and_overlap_is_sent_once_a_week(store, period):
    start, end = period
    app = make_app(store, digest_day="sunday", digest_time=time(2, 30), timezone="Europe/Berlin")
    outbox = Outbox()

    # APScheduler's own Sunday 02:30 trigger: fires twice in the overlap week...
    trigger = CronTrigger(day_of_week="sun", hour=2, minute=30, timezone=BERLIN)
    fires, prev = [], None
    while (nxt := trigger.get_next_fire_time(prev, prev or start)) < end:
        fires.append(nxt)
        prev = nxt
    per_week = Counter(iso_week(f, BERLIN) for f in fires)
    if start.month == 10:
        assert per_week["2026-W43"] == 2, "APScheduler 3.x fires twice on the autumn change"

    # ...and the digest job, called at every fire and every 10 minutes besides, sends once a week
    calls = sorted([*fires, *ticks(start, end, timedelta(minutes=10))])
    for moment in calls:
        run_digest_job(app, now=moment, holder="test", send=outbox)
    sent_weeks = Counter(iso_week(s, BERLIN) for s in outbox.sent)
    assert set(sent_weeks.values()) == {1}
    assert len(outbox.sent) == 4  # four Sundays in the four weeks
    # each was sent at its slot (the tick or fire at or right after 02:30 local)
    assert all(s.astimezone(BERLIN).time() in (time(2, 30), time(3, 30)) for s in outbox.sent)


# -- downtime ---------------------------------------------------------------------------------------


def friday_8am_london(store, **extra):
    return make_app(store, digest_day="friday", digest_time=time(8, 0), timezone="Europe/London", **extra)


def test_an_hour_of_downtime_over_the_send_time_sends_one_late_edition(store):
    app = friday_8am_london(store)
    outbox = Outbox()
    before = ticks(datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, 7, 30, tzinfo=UTC), timedelta(minutes=5))
    after = ticks(datetime(2026, 11, 27, 9, 0, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC), timedelta(minutes=5))
    for moment in before:
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert outbox.sent == []
    # down 07:30-09:00; the first check after coming back (the service's start-up catch-up) sends it
    for moment in after:
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert outbox.sent == [datetime(2026, 11, 27, 9, 0, tzinfo=UTC)]
    assert store.leases.job_run("digest", "2026-W48").status == "ok"


@pytest.mark.parametrize(("back_at", "expected"), [
    (datetime(2026, 12, 18, 10, 0, tzinfo=UTC), ["2026-W51"]),  # 2 h after the 3rd missed Friday: within the grace
    (datetime(2026, 12, 18, 20, 1, tzinfo=UTC), []),  # 12 h 1 min after: outside it, never sent late
    (datetime(2026, 12, 19, 7, 0, tzinfo=UTC), []),  # the next morning: outside it
], ids=["within-grace", "just-outside", "next-day"])
def test_three_weeks_of_downtime_send_at_most_the_latest_edition(store, back_at, expected):
    app = friday_8am_london(store)
    outbox = Outbox()
    for moment in ticks(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC), timedelta(hours=1)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    # down from 26 November until `back_at`: three Fridays missed
    for moment in ticks(back_at, datetime(2026, 12, 20, tzinfo=UTC), timedelta(minutes=15)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert [iso_week(s, LONDON) for s in outbox.sent] == expected
    missed = [r for r in ("2026-W48", "2026-W49", "2026-W50") if store.leases.job_run("digest", r)]
    assert missed == [], "editions missed outside the grace are never sent late"
    # and the following Friday goes out as usual
    for moment in ticks(datetime(2026, 12, 25, 7, 0, tzinfo=UTC), datetime(2026, 12, 25, 9, 0, tzinfo=UTC),
                        timedelta(minutes=15)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert [iso_week(s, LONDON) for s in outbox.sent] == [*expected, "2026-W52"]


def test_a_failed_send_is_retried_within_the_grace_and_then_given_up(store):
    app = friday_8am_london(store, digest_grace_hours=2)
    attempts = []

    def broken(app, *, now):
        attempts.append(now)
        raise ConnectionError("mail server down")

    friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    for moment in ticks(friday, friday + timedelta(hours=4), timedelta(hours=1)):
        with contextlib.suppress(ConnectionError):
            run_digest_job(app, now=moment, holder="test", send=broken)
    assert attempts == [friday, friday + timedelta(hours=1), friday + timedelta(hours=2)]
    assert store.leases.job_run("digest", "2026-W48").status == "failed"


# -- two schedulers ---------------------------------------------------------------------------------


def _scheduler_process(url: str, name: str, log: str, start) -> None:
    store = Store.open(url, now=datetime.now(UTC))
    app = make_app(store, digest_day="sunday", digest_time=time(2, 30), timezone="Europe/Berlin")

    def send(app, *, now):
        with open(log, "a") as fh:
            fh.write(f"{iso_week(now, BERLIN)} {name}\n")
        return "edition"

    start.wait()
    for moment in ticks(datetime(2026, 10, 4, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), timedelta(minutes=20)):
        run_digest_job(app, now=moment, holder=name, send=send)
    store.close()


def test_two_scheduler_processes_on_one_store_send_each_edition_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Store.open(url, now=datetime.now(UTC)).close()
    log = tmp_path / "sent.log"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_scheduler_process, args=(url, f"scheduler-{i}", str(log), start)) for i in (1, 2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    weeks = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert weeks == {"2026-W40": 1, "2026-W41": 1, "2026-W42": 1, "2026-W43": 1}  # W43 across the DST change


def test_next_runs_are_in_local_time():
    settings = SimpleNamespace(schedule=ScheduleSettings(digest_day="friday", digest_time=time(8, 0),
                                                         timezone="Europe/Moscow"), digest=None, outlet=None)
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # Friday 09:00 in Moscow: this week's digest has gone
    runs = dict(next_runs(settings, now))
    assert runs["digest"] == datetime(2026, 12, 4, 8, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    assert runs["digest"].tzinfo == ZoneInfo("Europe/Moscow")


# -- ingest ticks -----------------------------------------------------------------------------------


def test_each_source_is_fetched_on_its_own_interval_and_after_retry_after(store):
    from feedpipe.core.model import Source
    from feedpipe.schedule import due_sources, ingest_every

    sources = (Source(name="wire", kind="feed", location="https://wire.example.org/rss", interval_minutes=5),
               Source(name="weekly", kind="feed", location="https://weekly.example.org/rss", interval_minutes=60),
               Source(name="plain", kind="feed", location="https://plain.example.org/rss"),
               Source(name="busy", kind="feed", location="https://busy.example.org/rss"))
    settings = SimpleNamespace(schedule=ScheduleSettings(ingest_minutes=15), sources=sources)
    assert ingest_every(settings) == 5, "the scheduler ticks as often as the most eager source"

    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert [s.name for s in due_sources(settings, store.sources, t0)] == ["wire", "weekly", "plain", "busy"]
    for s in sources:
        store.sources.record_fetch(name=s.name, kind=s.kind, location=s.location, now=t0, status="ok",
                           retry_after_until=t0 + timedelta(hours=1) if s.name == "busy" else None)
    seen = {}
    for minute in range(5, 95, 5):  # the ticks of the next hour and a half
        now = t0 + timedelta(minutes=minute)
        for s in due_sources(settings, store.sources, now):
            seen.setdefault(s.name, []).append(minute)
            store.sources.record_fetch(name=s.name, kind=s.kind, location=s.location, now=now, status="ok")
    assert seen["wire"] == list(range(5, 95, 5))
    assert seen["plain"] == [15, 30, 45, 60, 75, 90]
    assert seen["weekly"] == [60]
    assert seen["busy"] == [60, 75, 90], "not before the server's Retry-After, then every 15 minutes"
