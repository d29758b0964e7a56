# ruff: noqa: F811  (pytest fixtures imported from tests.digest_support are used as arguments)
"""Editions are ISO weeks in the outlet's time zone; the due edition is sent once, within the grace."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feedpipe.config.digest import parse_digest_settings, parse_mail_settings
from feedpipe.core.errors import FeedpipeError
from feedpipe.digest.editions import (
    CronFields,
    DigestSchedule,
    due_edition,
    edition_key,
    edition_window,
    latest_send_key,
    parse_key,
    send_time,
)
from tests.digest_support import SEND_AT, WEEK, digest_settings, week_store  # noqa: F401

MOSCOW = digest_settings()  # Friday 08:00 Europe/Moscow = 05:00 UTC


def test_the_key_is_the_iso_week_in_the_outlets_zone():
    # Sunday 22:30 UTC is already Monday in Moscow: the next week's edition
    sunday_night = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
    assert edition_key(sunday_night, digest_settings(timezone="UTC")) == "2026-W48"
    assert edition_key(sunday_night, MOSCOW) == "2026-W49"
    assert edition_key(datetime(2027, 1, 1, 12, tzinfo=UTC), MOSCOW) == "2026-W53"


def test_the_send_time_is_the_configured_day_and_time_of_that_week():
    assert send_time(WEEK, MOSCOW) == SEND_AT
    assert send_time(WEEK, digest_settings(day="monday", timezone="UTC")) == datetime(2026, 11, 23, 8, tzinfo=UTC)
    with pytest.raises(FeedpipeError):
        parse_key("2026-48")
    with pytest.raises(FeedpipeError):
        parse_key("2025-W53")  # 2025 has 52 ISO weeks


def test_the_window_runs_from_the_previous_edition_to_this_send_time(week_store):
    assert edition_window(WEEK, MOSCOW) == (SEND_AT - timedelta(weeks=1), SEND_AT)
    # last week's edition went out late (its window ended later): this one starts where it ended
    late = SEND_AT - timedelta(days=6)
    week_store.editions.ensure("2026-W47", window_start=late - timedelta(weeks=1), window_end=late, now=late)
    assert edition_window(WEEK, MOSCOW, week_store) == (late, SEND_AT)


def test_due_edition_is_the_latest_unsent_one_within_the_grace(week_store):
    assert due_edition(SEND_AT - timedelta(minutes=1), MOSCOW, week_store) is None  # W47 is past its grace
    assert due_edition(SEND_AT, MOSCOW, week_store) == WEEK
    assert due_edition(SEND_AT + timedelta(hours=11), MOSCOW, week_store) == WEEK  # down all morning: still sent
    assert due_edition(SEND_AT + timedelta(hours=13), MOSCOW, week_store) is None  # too late: not a day late
    week_store.editions.finish(WEEK, "sent", now=SEND_AT)
    assert due_edition(SEND_AT + timedelta(hours=1), MOSCOW, week_store) is None  # sent once only
    assert due_edition(SEND_AT + timedelta(weeks=1), MOSCOW, week_store) == "2026-W49"


def test_one_schedule_says_which_edition_is_due_until_when_and_when_to_fire(week_store):
    schedule = DigestSchedule.of(MOSCOW)
    status = schedule.status(SEND_AT + timedelta(hours=1), week_store)
    assert (status.slot.key, status.state) == (WEEK, "due")
    assert (status.slot.at, status.slot.until) == (SEND_AT, SEND_AT + timedelta(hours=12))
    assert schedule.due(SEND_AT + timedelta(hours=1), week_store) == status.slot
    assert schedule.status(SEND_AT + timedelta(hours=12, minutes=1), week_store).state == "missed"
    assert schedule.next(SEND_AT).key == "2026-W49" and latest_send_key(SEND_AT, MOSCOW) == WEEK
    week_store.editions.finish(WEEK, "skipped", now=SEND_AT)
    assert schedule.status(SEND_AT + timedelta(hours=1), week_store).state == "skipped"
    assert due_edition(SEND_AT + timedelta(hours=1), MOSCOW, week_store) is None
    assert schedule.cron() == CronFields(day_of_week="fri", hour=8, minute=0, second=0,
                                         timezone=ZoneInfo("Europe/Moscow"))


def test_a_send_time_in_a_dst_gap_or_overlap_is_one_instant():
    berlin = digest_settings(day="sunday", time=time(2, 30), timezone="Europe/Berlin")
    spring = send_time("2026-W13", berlin)  # 02:30 does not exist on 29 March: 03:30 summer time
    assert spring == datetime(2026, 3, 29, 1, 30, tzinfo=UTC) and spring.time() == time(3, 30)
    autumn = send_time("2026-W43", berlin).astimezone(UTC)  # (an ambiguous local time never equals a UTC one)
    assert autumn == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first of the two 02:30s
    assert edition_key(spring, berlin) == "2026-W13"


def test_empty_tables_give_working_defaults():
    digest, problems = parse_digest_settings({}, where="feedpipe.toml", base_dir=Path("/srv/news"))
    assert problems == []
    assert (digest.day, digest.time.isoformat("minutes"), digest.timezone) == ("friday", "08:00", "UTC")
    assert digest.grace == timedelta(hours=12) and digest.skip_if_empty
    mail, problems = parse_mail_settings({}, where="feedpipe.toml", base_dir=Path("/srv/news"))
    assert problems == [] and mail.transport == "outbox" and mail.outbox == Path("/srv/news/outbox")


def test_every_problem_is_listed_with_file_key_and_an_example():
    _, problems = parse_digest_settings(
        {"day": "Freitag", "time": "8am", "timezone": "Moscow", "from": "nobody", "section_limits": {"news": -1},
         "accent": "red", "colour": "blue"},
        where="/etc/feedpipe.toml", base_dir=Path("."),
    )
    assert len(problems) == 7
    assert all(p.startswith("/etc/feedpipe.toml [digest] ") and " - e.g. " in p for p in problems)
    assert "/etc/feedpipe.toml [digest] day: 'freitag' is not a day of the week - e.g. day = \"friday\"" in problems
    assert any("timezone: 'Moscow' is not an IANA time zone" in p and "Europe/Moscow" in p for p in problems)
    assert any(p.startswith("/etc/feedpipe.toml [digest] colour: unknown key - e.g. one of accent,") for p in problems)


def test_a_misspelt_digest_key_gets_a_did_you_mean():
    _, problems = parse_digest_settings({"grace_hour": 6, "support": {"txt": "Help us", "url": "https://x.org/s"}},
                                        where="feedpipe.toml", base_dir=Path("."))
    assert "feedpipe.toml [digest] grace_hour: unknown key; did you mean 'grace_hours'?" in problems
    assert "feedpipe.toml [digest.support] txt: unknown key; did you mean 'text'?" in problems


def test_the_smtp_password_comes_only_from_the_environment(monkeypatch):
    mail, problems = parse_mail_settings({"transport": "smtp", "username": "weekly", "password": "hunter2"},
                                         where="feedpipe.toml", base_dir=Path("."))
    assert problems == ['feedpipe.toml [mail] password: passwords are never read from the config file; name an '
                        'environment variable - e.g. password_env = "FEEDPIPE_SMTP_PASSWORD" and export '
                        'FEEDPIPE_SMTP_PASSWORD']
    monkeypatch.delenv("FEEDPIPE_SMTP_PASSWORD", raising=False)
    with pytest.raises(FeedpipeError) as caught:
        mail.password()
    assert "FEEDPIPE_SMTP_PASSWORD" in caught.value.hint
    monkeypatch.setenv("FEEDPIPE_SMTP_PASSWORD", "s3cret")
    assert mail.password() == "s3cret"


def test_the_outlets_templates_folder_beside_the_config_is_found(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "templates" / "digest").mkdir(parents=True)
    digest, _ = parse_digest_settings({}, where="feedpipe.toml", base_dir=tmp_path / "config")
    assert digest.templates_dir == tmp_path / "templates"
    digest, _ = parse_digest_settings({}, where="feedpipe.toml", base_dir=tmp_path / "elsewhere" / "config")
    assert digest.templates_dir is None
