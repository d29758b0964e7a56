"""Transitional: the parsing helpers `feedpipe.config.schedule` still imports for the `[schedule]`
digest_day / digest_time keys, which are being removed (issue 9). Nothing else uses this module;
delete it with those keys. The scheduler lives in `feedpipe.scheduler`."""

from __future__ import annotations

from datetime import time

from feedpipe.core.settings import DAYS

WEEKDAYS = DAYS


def _weekday(value: str) -> int | None:
    v = value.strip().lower()
    for i, day in enumerate(DAYS):
        if v in (day, day[:3]):
            return i
    return None


def _parse_time(value: object) -> time | None:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    try:
        return time.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        return None
