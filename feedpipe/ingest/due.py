"""When a source may be fetched again: its interval, its feed's `<ttl>`, the server's Retry-After,
and the backoff of a source that keeps failing. The one owner of that decision: `ingest`, the
scheduler's `due_sources` and the `sources` command all ask `next_fetch_at`.

A failing source waits interval x 2^(failures-1) after its last fetch (never less than its interval,
at most a day), or until the server's Retry-After if that is later. After `[schedule]
pause_after_failures` consecutive failures it is paused (the store records it) and is not fetched
again, not even with `--force`, until `feedpipe sources --resume NAME` or a changed `url`/`path`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from feedpipe.core.model import Source
from feedpipe.store.sources import SourceState

BACKOFF_CAP = timedelta(days=1)


def backoff_delay(failures: int, interval: timedelta) -> timedelta:
    """How long a source with `failures` consecutive failures waits after its last fetch:
    interval x 2^(failures-1), at most a day, never less than `interval`."""
    if failures <= 0 or not interval:
        return interval
    return max(interval, min(interval * (1 << min(failures - 1, 32)), BACKOFF_CAP))


def is_paused(source: Source, state: SourceState | None) -> bool:
    """Paused for its failures, at the location it failed at (a fixed `url` or `path` is a fresh start)."""
    return state is not None and state.paused and state.location == source.location


def next_fetch_at(source: Source, state: SourceState | None, *, default_minutes: int | None = None,
                  backoff_minutes: int | None = None) -> datetime | None:
    """When a source may be fetched again (None: now; a paused source's is meaningless: ask
    `is_paused`): after the server's Retry-After, and after the longer of its interval (its own,
    else `default_minutes`) and the feed's own `<ttl>`; a failing source backs off from that interval,
    or from `backoff_minutes` when it has none (a source fetched at every run)."""
    if state is None or state.last_fetch_at is None or state.status == "resumed":
        return state.retry_after_until if state is not None else None
    minutes = max(source.interval_minutes or default_minutes or 0, state.ttl_minutes or 0)
    failures = state.failures if state.location == source.location else 0
    if failures:
        delay = backoff_delay(failures, timedelta(minutes=minutes or backoff_minutes or 0))
    else:
        delay = timedelta(minutes=minutes)
    when = state.last_fetch_at + delay if delay else None
    if state.retry_after_until:
        when = max(when, state.retry_after_until) if when else state.retry_after_until
    return when


@dataclass(frozen=True, kw_only=True)
class Skip:
    """Why a source is not fetched now: status "paused", "backoff", "waiting" or "not-due"."""

    status: str
    reason: str | None = None


def skip(source: Source, state: SourceState | None, now: datetime, *, force: bool = False,
         default_minutes: int | None = None, backoff_minutes: int | None = None) -> Skip | None:
    """None when the source is to be fetched at `now`; else why not. `force` fetches every source
    that is not paused, whatever its interval, backoff or Retry-After."""
    if state is not None and is_paused(source, state):
        return Skip(status="paused", reason=state.error)
    if force:
        return None
    when = next_fetch_at(source, state, default_minutes=default_minutes, backoff_minutes=backoff_minutes)
    if when is None or when <= now or state is None:
        return None
    until = state.retry_after_until
    if until is not None and until >= when:
        return Skip(status="waiting", reason=f"server asked to wait until {until:%Y-%m-%d %H:%M} UTC")
    if state.failures and state.location == source.location:
        return Skip(status="backoff", reason=f"failed {state.failures} time(s) in a row; next try at "
                                             f"{when:%Y-%m-%d %H:%M} UTC")
    return Skip(status="not-due")
