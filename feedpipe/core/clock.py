"""What "now" is. Every module receives a Clock; only the CLI (and tests) choose which one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def clock_from(start: datetime) -> Clock:
    """A clock set to `start` that then runs at real speed (so deadlines and rate limits still work).

    This is what `--now` / `FEEDPIPE_NOW` install: a whole run sees one consistent calendar."""
    if start.tzinfo is None:
        raise ValueError("the clock needs a time zone offset")
    offset = start - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


def fixed_clock(at: datetime) -> Clock:
    """A clock that always says `at` (tests, and replaying one instant)."""
    return lambda: at
