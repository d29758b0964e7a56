"""Edition keys, send times and windows, in the outlet's time zone.

An edition is one ISO week ("2026-W48"). It is due at the configured day and time of that week in the
outlet's zone, and covers the articles published since the previous edition up to its send time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.settings import DigestSettings

if TYPE_CHECKING:  # the Protocol only: this module does not depend on the store
    from feedpipe.store.protocols import Editions

_KEY = re.compile(r"^(\d{4})-W(\d{2})$")


def edition_key(moment: datetime, settings: DigestSettings) -> str:
    """The ISO week of `moment` in the outlet's time zone, e.g. "2026-W48"."""
    year, week, _ = moment.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def current_edition(now: datetime, settings: DigestSettings) -> str:
    """The edition being put together at `now`: this week's (the one whose send time is next or today)."""
    return edition_key(now, settings)


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


def send_time(key: str, settings: DigestSettings) -> datetime:
    """When edition `key` goes out: its week's configured day and time in the outlet's zone (tz-aware)."""
    year, week = parse_key(key)
    day = date.fromisocalendar(year, week, settings.weekday + 1)
    return datetime.combine(day, settings.time, tzinfo=settings.tz)


def shift_key(key: str, weeks: int, settings: DigestSettings) -> str:
    return edition_key(send_time(key, settings) + timedelta(weeks=weeks), settings)


def edition_window(
    key: str, settings: DigestSettings, editions: Editions | None = None
) -> tuple[datetime, datetime]:
    """[start, end) of the articles an edition covers: since the previous edition (its stored window end
    when it was built, else one week before) up to this edition's send time."""
    end = send_time(key, settings)
    start = end - timedelta(weeks=1)
    if editions is not None:
        previous = editions.get(shift_key(key, -1, settings))
        if previous is not None and previous.window_end is not None and previous.window_end < end:
            start = previous.window_end
    return start, end


def latest_send_key(now: datetime, settings: DigestSettings) -> str:
    """The edition whose send time is the latest at or before `now`."""
    key = edition_key(now, settings)
    if send_time(key, settings) > now:
        key = shift_key(key, -1, settings)
    return key


def due_edition(now: datetime, settings: DigestSettings, editions: Editions) -> str | None:
    """The edition to send now, or None.

    That is the latest edition whose send time has passed, provided it is not sent or skipped yet and
    `now` is still within the grace after its send time: a service that was down on Friday morning
    sends it once when it comes back within the grace, and not a week late.
    """
    key = latest_send_key(now, settings)
    if now - send_time(key, settings) > settings.grace:
        return None
    edition = editions.get(key)
    if edition is not None and edition.status in ("sent", "skipped"):
        return None
    return key
