"""The `[schedule]` table: validated into ScheduleSettings.

The digest's day, time, zone and grace are not here: `[digest]` owns them. A config that still
sets one of the old `[schedule] digest_*` keys is told which `[digest]` key to use instead.
"""

from __future__ import annotations

from feedpipe.config.reader import Problems, Section, Table, known
from feedpipe.core.settings import ScheduleSettings

SCHEDULE_KEYS = known("schedule", ("ingest_minutes", "feeds_after_ingest", "digest", "lease_ttl_seconds",
                                   "pause_after_failures", "workers"))
# old [schedule] key -> (what it set, the [digest] key that sets it now, an example)
MOVED_KEYS = {
    "digest_day": ("day", "day", '"friday"'),
    "digest_time": ("time", "time", '"08:00"'),
    "timezone": ("time zone", "timezone", '"Europe/Moscow"'),
    "digest_grace_hours": ("grace", "grace_hours", "12"),
}


def parse_schedule_settings(table: Table, *, where: str) -> tuple[ScheduleSettings, list[str]]:
    """Validate a `[schedule]` table; return the settings and every problem found."""
    problems = Problems(where)
    s = Section(problems, "schedule", table)
    for key, (what, new_key, example) in MOVED_KEYS.items():
        if key in table:
            s.add(key, f"moved; the digest's {what} is set in [digest]", f"[digest] {new_key} = {example}")
    problems.unknown_keys("schedule", {k: v for k, v in table.items() if k not in MOVED_KEYS}, SCHEDULE_KEYS)
    d = ScheduleSettings()

    ingest_minutes = s.integer("ingest_minutes", d.ingest_minutes, f"ingest_minutes = {d.ingest_minutes}")
    if not 0 < ingest_minutes <= 24 * 60:
        s.add("ingest_minutes", f"must be a positive whole number at most 1440, got {ingest_minutes!r}",
              f"ingest_minutes = {d.ingest_minutes}")
        ingest_minutes = d.ingest_minutes
    ttl = s.integer("lease_ttl_seconds", d.lease_ttl_seconds, f"lease_ttl_seconds = {d.lease_ttl_seconds}")
    if ttl <= 0:
        s.add("lease_ttl_seconds", f"must be a positive whole number, got {ttl!r}",
              f"lease_ttl_seconds = {d.lease_ttl_seconds}")
        ttl = d.lease_ttl_seconds
    elif ttl < 30:
        s.add("lease_ttl_seconds", f"{ttl} is too short to renew reliably; use 30 or more", "lease_ttl_seconds = 300")
        ttl = d.lease_ttl_seconds

    pause_after = s.integer("pause_after_failures", d.pause_after_failures,
                            f"pause_after_failures = {d.pause_after_failures}")
    if pause_after < 0:
        s.add("pause_after_failures", f"must be a whole number >= 0 (0: never pause), got {pause_after!r}",
              f"pause_after_failures = {d.pause_after_failures}")
        pause_after = d.pause_after_failures

    settings = ScheduleSettings(
        ingest_minutes=ingest_minutes,
        feeds_after_ingest=s.flag("feeds_after_ingest", d.feeds_after_ingest, "feeds_after_ingest = true"),
        digest=s.flag("digest", d.digest, "digest = true"),
        lease_ttl_seconds=ttl,
        pause_after_failures=pause_after,
        workers=s.flag("workers", d.workers, "workers = true"),
    )
    return settings, problems.lines
