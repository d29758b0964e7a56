"""The `[schedule]` table: validated into ScheduleSettings."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedpipe.core.settings import ScheduleSettings
from feedpipe.schedule import WEEKDAYS, _parse_time, _weekday

SCHEDULE_KEYS = (
    "ingest_minutes", "feeds_after_ingest", "digest", "digest_day", "digest_time", "timezone",
    "digest_grace_hours", "lease_ttl_seconds",
)


def parse_schedule_settings(table: dict, *, where: str, outlet: Any = None) -> tuple[ScheduleSettings, list[str]]:
    """Validate a `[schedule]` table; return the settings and every problem found (readable strings
    naming the file, the key, what is wrong and an example of what is right)."""
    problems: list[str] = []

    def bad(key: str, what: str, example: str) -> None:
        problems.append(f"{where} schedule.{key}: {what} - e.g. {example}")

    if not isinstance(table, dict):
        return ScheduleSettings(), [f"{where} [schedule]: must be a table - e.g. [schedule] ingest_minutes = 15"]
    d = ScheduleSettings()
    for key in table:
        if key not in SCHEDULE_KEYS:
            import difflib

            close = difflib.get_close_matches(key, SCHEDULE_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(SCHEDULE_KEYS)}"
            problems.append(f"{where} schedule.{key}: unknown key '{key}'; {hint}")

    def positive(key: str, default, *, integer: bool, maximum: float | None = None):
        value = table.get(key, default)
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or value <= 0 or (maximum is not None and value > maximum):
            kind = "a positive whole number" if integer else "a positive number"
            limit = f" at most {maximum:g}" if maximum is not None else ""
            bad(key, f"must be {kind}{limit}, got {value!r}", f"{key} = {default}")
            return default
        return value

    def boolean(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            bad(key, f"must be true or false, got {value!r}", f"{key} = {str(default).lower()}")
            return default
        return value

    ingest_minutes = positive("ingest_minutes", d.ingest_minutes, integer=True, maximum=24 * 60)
    grace = table.get("digest_grace_hours")
    if grace is not None:
        grace = positive("digest_grace_hours", 12, integer=False, maximum=24 * 6)
    ttl = positive("lease_ttl_seconds", d.lease_ttl_seconds, integer=True)
    if isinstance(ttl, int) and ttl < 30:
        bad("lease_ttl_seconds", f"{ttl} is too short to renew reliably; use 30 or more", "lease_ttl_seconds = 300")
        ttl = d.lease_ttl_seconds

    day = table.get("digest_day")
    if day is not None:
        if not isinstance(day, str) or _weekday(day) is None:
            bad("digest_day", f"{day!r} is not a day of the week", 'digest_day = "friday"')
            day = None
        else:
            day = WEEKDAYS[_weekday(day)]

    at = table.get("digest_time")
    if at is not None:
        parsed = _parse_time(at)
        if parsed is None:
            bad("digest_time", f"{at!r} is not a time of day HH:MM", 'digest_time = "08:00"')
        at = parsed

    tz = table.get("timezone")
    if tz is not None:
        valid = isinstance(tz, str) and bool(tz.strip())
        if valid:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                valid = False
        if not valid:
            bad("timezone", f"{tz!r} is not an IANA time zone", 'timezone = "Europe/Moscow"')
            tz = None

    settings = ScheduleSettings(
        ingest_minutes=ingest_minutes,
        feeds_after_ingest=boolean("feeds_after_ingest", d.feeds_after_ingest),
        digest=boolean("digest", d.digest),
        digest_day=day,
        digest_time=at,
        timezone=tz,
        digest_grace_hours=None if grace is None else float(grace),
        lease_ttl_seconds=ttl,
    )
    return settings, problems
