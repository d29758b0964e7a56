"""The scheduler decides nothing alone: the digest's schedule (one edition per ISO week in the
outlet's zone) and the store's claim on that edition's run do. Time is injected; nothing sleeps."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from feedpipe.app import App
from feedpipe.config.digest import parse_digest_settings
from feedpipe.config.schedule import parse_schedule_settings
from feedpipe.core.clock import fixed_clock
from feedpipe.core.model import SendReport, Source
from feedpipe.core.settings import DigestSettings, FetchSettings, OutletSettings, ScheduleSettings, Settings
from feedpipe.digest.editions import DigestSchedule, due_edition
from feedpipe.scheduler.jobs import decide_digest, due_sources, ingest_every, run_digest_job
from feedpipe.scheduler.service import next_runs
from feedpipe.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
SUNDAY_0230_BERLIN = DigestSettings(day="sunday", time=time(2, 30), timezone="Europe/Berlin")
FRIDAY_0800_LONDON = DigestSettings(day="friday", time=time(8, 0), timezone="Europe/London")


def make_settings(store_url: str = "sqlite:///:memory:", *, digest: DigestSettings = FRIDAY_0800_LONDON,
                  schedule: ScheduleSettings | None = None, sources: tuple[Source, ...] = ()) -> Settings:
    return Settings(path=None, base_dir=Path("."), outlet=OutletSettings(), store_url=store_url, sources=sources,
                    fetch=FetchSettings(), fetch_workers=1, parse_processes=0, public_dir=Path("public"),
                    templates_dir=None, tagging_dir=None, digest=digest, schedule=schedule or ScheduleSettings())


def make_app(store: Store, digest: DigestSettings = FRIDAY_0800_LONDON,
             schedule: ScheduleSettings | None = None) -> App:
    """A real App on the test's store; each job call below hands in its own `now`."""
    settings = make_settings(digest=digest, schedule=schedule)
    return App(settings, clock=fixed_clock(datetime(2026, 1, 1, tzinfo=UTC)), store=store)


class Outbox:
    """A DigestSender standing in for `pipeline.send_due_digest`: sends what the digest says is due,
    marks it sent in the store as the real send does, and records when."""

    def __init__(self) -> None:
        self.sent: list[datetime] = []

    def __call__(self, app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        key = due_edition(now, app.settings.digest, app.store)
        if key is None:
            return None, None
        app.store.editions.finish(key, "sent", now=now)
        self.sent.append(now)
        return key, SendReport(edition=key, sent=1)


def ticks(start: datetime, end: datetime, every: timedelta) -> Iterator[datetime]:
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
    assert settings == ScheduleSettings() and settings.ingest_minutes == 15
    settings, problems = parse_schedule_settings(
        {"ingest_minutes": 5, "feeds_after_ingest": False, "digest": False, "lease_ttl_seconds": 120},
        where="feedpipe.toml")
    assert problems == []
    assert (settings.ingest_minutes, settings.feeds_after_ingest, settings.digest) == (5, False, False)
    assert settings.lease_ttl == timedelta(seconds=120)


def test_every_schedule_problem_is_listed_with_key_and_example():
    _, problems = parse_schedule_settings(
        {"ingest_minutes": 0, "feeds_after_ingest": "yes", "lease_ttl_seconds": 5, "ingest_minute": 3},
        where="/etc/feedpipe.toml")
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert all(p.startswith("/etc/feedpipe.toml [schedule] ") for p in problems)
    assert ("[schedule] ingest_minutes: must be a positive whole number at most 1440, got 0"
            " - e.g. ingest_minutes = 15") in text
    assert "[schedule] feeds_after_ingest: must be true or false, got 'yes' - e.g. feeds_after_ingest = true" in text
    assert "[schedule] lease_ttl_seconds: 5 is too short to renew reliably" in text
    assert "[schedule] ingest_minute: unknown key; did you mean 'ingest_minutes'?" in text


def test_the_digests_schedule_keys_moved_to_digest_and_say_where():
    _, problems = parse_schedule_settings(
        {"digest_day": "friday", "digest_time": "08:00", "timezone": "Europe/Moscow", "digest_grace_hours": 6},
        where="feedpipe.toml")
    assert problems == [
        'feedpipe.toml [schedule] digest_day: moved; the digest\'s day is set in [digest] - e.g. [digest] day = "friday"',
        'feedpipe.toml [schedule] digest_time: moved; the digest\'s time is set in [digest]'
        ' - e.g. [digest] time = "08:00"',
        'feedpipe.toml [schedule] timezone: moved; the digest\'s time zone is set in [digest]'
        ' - e.g. [digest] timezone = "Europe/Moscow"',
        "feedpipe.toml [schedule] digest_grace_hours: moved; the digest's grace is set in [digest]"
        " - e.g. [digest] grace_hours = 12",
    ]


def test_the_digests_day_time_zone_and_grace_come_from_digest_alone():
    digest, _ = parse_digest_settings({"day": "Sunday", "time": "02:30", "timezone": "Europe/Berlin",
                                       "grace_hours": 3}, where="feedpipe.toml", base_dir=Path("."))
    schedule = DigestSchedule.of(digest)
    assert schedule == DigestSchedule(weekday=6, at=time(2, 30), tz=BERLIN, grace=timedelta(hours=3))


# -- DST ----------------------------------------------------------------------------------------------


def test_a_local_time_in_the_dst_gap_and_overlap_is_one_instant():
    schedule = DigestSchedule.of(SUNDAY_0230_BERLIN)
    # spring: 02:30 does not exist on 29 March 2026; the slot is 03:30 summer time (01:30 UTC)
    spring = schedule.latest(datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert spring.key == "2026-W13"
    assert spring.at.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert spring.at.time() == time(3, 30)
    # autumn: 02:30 happens twice on 25 October 2026; the slot is the first one (00:30 UTC)
    autumn = schedule.latest(datetime(2026, 10, 25, 12, 0, tzinfo=UTC))
    assert autumn.key == "2026-W43"
    assert autumn.at.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # between the two 02:30s of that night, the second is not a new slot, in UTC or in local time
    between = datetime(2026, 10, 25, 1, 45, tzinfo=UTC)
    assert schedule.latest(between) == autumn
    assert schedule.latest(between.astimezone(BERLIN)) == autumn
    # the grace is elapsed time: 12 hours after 00:30 UTC, whatever the wall clock did
    assert autumn.until.astimezone(UTC) == datetime(2026, 10, 25, 12, 30, tzinfo=UTC)


def test_the_cron_trigger_fires_at_the_digests_send_instant():
    schedule = DigestSchedule.of(SUNDAY_0230_BERLIN)
    trigger = CronTrigger(**schedule.cron().as_kwargs())
    for now in (datetime(2026, 3, 22, 3, 0, tzinfo=UTC), datetime(2026, 10, 18, 3, 0, tzinfo=UTC)):
        # as instants: APScheduler writes the gap's instant as a non-existent 02:30+01:00
        assert trigger.get_next_fire_time(None, now).astimezone(UTC) == schedule.next(now).at.astimezone(UTC)


@pytest.mark.parametrize("period", [
    (datetime(2026, 3, 15, tzinfo=UTC), datetime(2026, 4, 12, tzinfo=UTC)),  # spring forward, 29 March
    (datetime(2026, 10, 11, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)),  # fall back, 25 October
], ids=["spring-gap", "autumn-overlap"])
def test_weekly_digest_inside_the_dst_gap_and_overlap_is_sent_once_a_week(store, period):
    start, end = period
    app = make_app(store, SUNDAY_0230_BERLIN)
    outbox = Outbox()

    # APScheduler's own Sunday 02:30 trigger: fires twice in the overlap week...
    trigger = CronTrigger(**DigestSchedule.of(SUNDAY_0230_BERLIN).cron().as_kwargs())
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


def test_an_hour_of_downtime_over_the_send_time_sends_one_late_edition(store):
    app = make_app(store)
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
    app = make_app(store)
    outbox = Outbox()
    for moment in ticks(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC), timedelta(hours=1)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    # down from 26 November until `back_at`: three Fridays missed
    for moment in ticks(back_at, datetime(2026, 12, 20, tzinfo=UTC), timedelta(minutes=15)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert [iso_week(s, LONDON) for s in outbox.sent] == expected
    missed = [r for r in ("2026-W48", "2026-W49", "2026-W50") if store.leases.job_run("digest", r)]
    assert missed == [], "editions missed outside the grace are never sent late"
    assert decide_digest(datetime(2026, 12, 19, 7, 0, tzinfo=UTC), app.settings, store).action == (
        "done" if expected else "missed")
    # and the following Friday goes out as usual
    for moment in ticks(datetime(2026, 12, 25, 7, 0, tzinfo=UTC), datetime(2026, 12, 25, 9, 0, tzinfo=UTC),
                        timedelta(minutes=15)):
        run_digest_job(app, now=moment, holder="test", send=outbox)
    assert [iso_week(s, LONDON) for s in outbox.sent] == [*expected, "2026-W52"]


def test_a_failed_send_is_retried_within_the_grace_and_then_given_up(store):
    app = make_app(store, DigestSettings(day="friday", time=time(8, 0), timezone="Europe/London",
                                         grace=timedelta(hours=2)))
    attempts = []

    def broken(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        attempts.append(now)
        raise ConnectionError("mail server down")

    friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    for moment in ticks(friday, friday + timedelta(hours=4), timedelta(hours=1)):
        with contextlib.suppress(ConnectionError):
            run_digest_job(app, now=moment, holder="test", send=broken)
    assert attempts == [friday, friday + timedelta(hours=1), friday + timedelta(hours=2)]
    assert store.leases.job_run("digest", "2026-W48").status == "failed"


def test_a_run_that_sent_nothing_is_not_recorded_as_done_and_is_retried(store):
    app = make_app(store)
    friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    def nothing(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        return None, None  # e.g. a digest that disagreed about what is due

    run = run_digest_job(app, now=friday, holder="test", send=nothing)
    assert (run.slot.key, run.action) == ("2026-W48", "not-sent")
    job = store.leases.job_run("digest", "2026-W48")
    assert job.status == "failed" and "not sent" in job.detail

    outbox = Outbox()
    assert run_digest_job(app, now=friday + timedelta(minutes=15), holder="test", send=outbox).action == "sent"
    assert run_digest_job(app, now=friday + timedelta(minutes=30), holder="test", send=outbox).action == "done"
    assert outbox.sent == [friday + timedelta(minutes=15)]
    assert store.leases.job_run("digest", "2026-W48").status == "ok"


def test_an_edition_the_digest_skipped_is_recorded_skipped_not_sent(store):
    app = make_app(store)
    friday = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    def empty(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        app.store.editions.finish("2026-W48", "skipped", now=now)
        return "2026-W48", SendReport(edition="2026-W48", skipped=True)

    assert run_digest_job(app, now=friday, holder="test", send=empty).action == "skipped"
    assert store.leases.job_run("digest", "2026-W48").status == "skipped"
    assert run_digest_job(app, now=friday + timedelta(hours=1), holder="test", send=empty).action == "done"


def test_a_disabled_digest_is_never_sent(store):
    app = make_app(store, schedule=ScheduleSettings(digest=False))
    outbox = Outbox()
    assert run_digest_job(app, now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC), holder="t", send=outbox).action == (
        "disabled")
    assert outbox.sent == []


# -- two schedulers ---------------------------------------------------------------------------------


def _scheduler_process(url: str, name: str, log: str, start) -> None:
    store = Store.open(url, now=datetime.now(UTC))
    app = make_app(store, SUNDAY_0230_BERLIN)

    def send(app: App, *, now: datetime) -> tuple[str | None, SendReport | None]:
        key = due_edition(now, app.settings.digest, app.store)
        if key is None:
            return None, None
        with open(log, "a") as fh:
            fh.write(f"{iso_week(now, BERLIN)} {name}\n")
        app.store.editions.finish(key, "sent", now=now)
        return key, SendReport(edition=key, sent=1)

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
    settings = make_settings(digest=DigestSettings(day="friday", time=time(8, 0), timezone="Europe/Moscow"))
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # Friday 09:00 in Moscow: this week's digest has gone
    runs = dict(next_runs(settings, now))
    assert runs["digest"] == datetime(2026, 12, 4, 8, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    assert runs["digest"].tzinfo == ZoneInfo("Europe/Moscow")


# -- ingest ticks -----------------------------------------------------------------------------------


def test_each_source_is_fetched_on_its_own_interval_and_after_retry_after(store):
    sources = (Source(name="wire", kind="feed", location="https://wire.example.org/rss", interval_minutes=5),
               Source(name="weekly", kind="feed", location="https://weekly.example.org/rss", interval_minutes=60),
               Source(name="plain", kind="feed", location="https://plain.example.org/rss"),
               Source(name="busy", kind="feed", location="https://busy.example.org/rss"))
    settings = make_settings(schedule=ScheduleSettings(ingest_minutes=15), sources=sources)
    assert ingest_every(settings) == 5, "the scheduler ticks as often as the most eager source"

    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert [s.name for s in due_sources(settings, store, t0)] == ["wire", "weekly", "plain", "busy"]
    for s in sources:
        store.sources.record_fetch(name=s.name, kind=s.kind, location=s.location, now=t0, status="ok",
                           retry_after_until=t0 + timedelta(hours=1) if s.name == "busy" else None)
    seen: dict[str, list[int]] = {}
    for minute in range(5, 95, 5):  # the ticks of the next hour and a half
        now = t0 + timedelta(minutes=minute)
        for s in due_sources(settings, store, now):
            seen.setdefault(s.name, []).append(minute)
            store.sources.record_fetch(name=s.name, kind=s.kind, location=s.location, now=now, status="ok")
    assert seen["wire"] == list(range(5, 95, 5))
    assert seen["plain"] == [15, 30, 45, 60, 75, 90]
    assert seen["weekly"] == [60]
    assert seen["busy"] == [60, 75, 90], "not before the server's Retry-After, then every 15 minutes"
