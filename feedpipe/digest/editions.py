"""When editions go out: the digest's one schedule, in the outlet's time zone.

An edition is one ISO week ("2026-W48"). It is due at the configured day and time of that week in the
outlet's zone, may still be sent until `grace` after that, and covers the articles published since the
previous edition up to its send time.

`DigestSchedule` is the only place that computes this. `due_edition`, `send_time` and the other
functions below are thin wrappers over it, and the scheduler asks it too (which edition is due now,
until when, and the CronTrigger fields of the weekly slot): the two can never disagree.

DST: a send time that occurs twice (autumn overlap) is the first of the two instants; one that does not
exist (spring gap) is the instant the same distance past the gap's start (02:30 in a 02:00-03:00 gap
is 03:30 new time). So every week has exactly one send instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Edition
from feedpipe.core.settings import DAYS, DigestSettings

_KEY = re.compile(r"^(\d{4})-W(\d{2})$")
FINISHED = ("sent", "skipped")  # edition states after which an edition is never offered again


class EditionRows(Protocol):
    def get(self, key: str) -> Edition | None: ...


class EditionLookup(Protocol):
    """What the schedule needs of the store: its editions (an edition's row by key)."""

    @property
    def editions(self) -> EditionRows: ...


def parse_key(key: str) -> tuple[int, int]:
    m = _KEY.match(key or "")
    if m:
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise FeedpipeError(f"{key!r} is not an edition (ISO week)", "write the week as 2026-W48")


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant at which a wall clock in `tz` shows `day` `at`: the first one when the time
    occurs twice (autumn overlap); when it does not exist (spring gap), the instant the same
    distance past the gap's start, e.g. 02:30 in a 02:00-03:00 gap is 03:30 new time."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


@dataclass(frozen=True, kw_only=True)
class EditionSlot:
    """One edition's send slot: it is sent at `at` or, if nothing ran then, up to `until`."""

    key: str  # the ISO week, "2026-W48"
    at: datetime  # the send instant (aware, in the outlet's zone)
    until: datetime  # the last instant it may still be sent (`at` + grace)

    def open_at(self, now: datetime) -> bool:
        """True while `now` is within the slot: at or after its send time, not past its grace."""
        # compared as UTC instants: aware datetimes sharing one tzinfo compare by wall time
        return self.at.astimezone(UTC) <= now.astimezone(UTC) <= self.until.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class EditionStatus:
    slot: EditionSlot
    state: Literal["due", "sent", "skipped", "missed"]


@dataclass(frozen=True, kw_only=True)
class CronFields:
    """The weekly slot as APScheduler's CronTrigger keywords (`CronTrigger(**fields.as_kwargs())`)."""

    day_of_week: str  # "mon" ... "sun"
    hour: int
    minute: int
    second: int
    timezone: ZoneInfo

    def as_kwargs(self) -> dict[str, str | int | ZoneInfo]:
        return {"day_of_week": self.day_of_week, "hour": self.hour, "minute": self.minute,
                "second": self.second, "timezone": self.timezone}


@dataclass(frozen=True, kw_only=True)
class DigestSchedule:
    """The weekly digest's schedule: `weekday` (0 = Monday) at `at` in `tz`, sendable for `grace`."""

    weekday: int
    at: time
    tz: ZoneInfo
    grace: timedelta

    @classmethod
    def of(cls, settings: DigestSettings) -> DigestSchedule:
        return cls(weekday=settings.weekday, at=settings.time, tz=settings.tz, grace=settings.grace)

    @property
    def day(self) -> str:
        return DAYS[self.weekday]

    # -- keys ----------------------------------------------------------------------------------------

    def key_at(self, moment: datetime) -> str:
        """The edition being put together at `moment`: its ISO week in the outlet's zone."""
        year, week, _ = moment.astimezone(self.tz).isocalendar()
        return f"{year}-W{week:02d}"

    def shift(self, key: str, weeks: int) -> str:
        """The edition `weeks` after (or before, when negative) edition `key`."""
        year, week = parse_key(key)
        year, week, _ = (date.fromisocalendar(year, week, 1) + timedelta(weeks=weeks)).isocalendar()
        return f"{year}-W{week:02d}"

    # -- send instants --------------------------------------------------------------------------------

    def send_time(self, key: str) -> datetime:
        """When edition `key` goes out: its week's configured day and time in the outlet's zone."""
        year, week = parse_key(key)
        return local_instant(date.fromisocalendar(year, week, self.weekday + 1), self.at, self.tz)

    def slot(self, key: str) -> EditionSlot:
        at = self.send_time(key)
        until = (at.astimezone(UTC) + self.grace).astimezone(self.tz)  # elapsed time, not wall time
        return EditionSlot(key=key, at=at, until=until)

    def latest(self, now: datetime) -> EditionSlot:
        """The edition whose send time is the latest at or before `now`."""
        key = self.key_at(now)
        if self.send_time(key).astimezone(UTC) > now.astimezone(UTC):
            key = self.shift(key, -1)
        return self.slot(key)

    def next(self, now: datetime) -> EditionSlot:
        """The edition whose send time is the first after `now`."""
        return self.slot(self.shift(self.latest(now).key, 1))

    def status(self, now: datetime, store: EditionLookup) -> EditionStatus:
        """The latest edition whose send time has passed, and whether it is to be sent at `now`:
        `sent` or `skipped` once the digest finished it, else `due` while `now` is within its grace,
        else `missed` (a service down past the grace never sends it a week late)."""
        slot = self.latest(now)
        edition = store.editions.get(slot.key)
        if edition is not None and edition.status in FINISHED:
            return EditionStatus(slot=slot, state="sent" if edition.status == "sent" else "skipped")
        return EditionStatus(slot=slot, state="due" if slot.open_at(now) else "missed")

    def due(self, now: datetime, store: EditionLookup) -> EditionSlot | None:
        """The edition to send at `now`, or None: the latest one, while it is within its grace and
        not sent or skipped yet. A service that was down at the send time sends it once when it
        comes back within the grace."""
        status = self.status(now, store)
        return status.slot if status.state == "due" else None

    # -- for the scheduler -----------------------------------------------------------------------------

    def cron(self) -> CronFields:
        """The weekly slot for a CronTrigger. APScheduler fires twice on an autumn overlap and at the
        shifted instant in a spring gap: the job it runs must still ask `due`, which sends once."""
        return CronFields(day_of_week=self.day[:3], hour=self.at.hour, minute=self.at.minute,
                          second=self.at.second, timezone=self.tz)


# -- the same answers, from the settings ----------------------------------------------------------------


def edition_key(moment: datetime, settings: DigestSettings) -> str:
    """The ISO week of `moment` in the outlet's time zone, e.g. "2026-W48"."""
    return DigestSchedule.of(settings).key_at(moment)


def current_edition(now: datetime, settings: DigestSettings) -> str:
    """The edition being put together at `now`: this week's (the one whose send time is next or today)."""
    return DigestSchedule.of(settings).key_at(now)


def send_time(key: str, settings: DigestSettings) -> datetime:
    """When edition `key` goes out: its week's configured day and time in the outlet's zone (tz-aware)."""
    return DigestSchedule.of(settings).send_time(key)


def shift_key(key: str, weeks: int, settings: DigestSettings) -> str:
    return DigestSchedule.of(settings).shift(key, weeks)


def latest_send_key(now: datetime, settings: DigestSettings) -> str:
    """The edition whose send time is the latest at or before `now`."""
    return DigestSchedule.of(settings).latest(now).key


def due_edition(now: datetime, settings: DigestSettings, store: EditionLookup) -> str | None:
    """The edition to send now, or None (see `DigestSchedule.due`)."""
    slot = DigestSchedule.of(settings).due(now, store)
    return slot.key if slot else None


def edition_window(
    key: str, settings: DigestSettings, store: EditionLookup | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of the articles an edition covers: since the previous edition (its stored window end
    when it was built, else one week before) up to this edition's send time."""
    schedule = DigestSchedule.of(settings)
    end = schedule.send_time(key)
    start = end - timedelta(weeks=1)
    if store is not None:
        previous = store.editions.get(schedule.shift(key, -1))
        if previous is not None and previous.window_end is not None and previous.window_end < end:
            start = previous.window_end
    return start, end
