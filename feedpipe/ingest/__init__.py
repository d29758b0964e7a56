"""The ingest service: sources -> fetch -> extract -> tag -> store.

One bad source, file or item is recorded with its error and never stops the others. Fetching,
extraction and tagging run in worker threads (and processes); every write to the store happens on
the calling thread, one transaction per source, so an acknowledged article is committed before the
next source is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime, timedelta

from feedpipe.app import App
from feedpipe.core.model import Source
from feedpipe.ingest.collect import Collected, adhoc_sources, collect
from feedpipe.ingest.parse import parser, tag_article
from feedpipe.ingest.report import IngestReport, Progress, SourceResult
from feedpipe.store.sources import SourceState

__all__ = ["IngestReport", "Progress", "SourceResult", "adhoc_sources", "ingest", "next_fetch_at", "retag"]

log = logging.getLogger(__name__)


def next_fetch_at(source: Source, state: SourceState | None, *, default_minutes: int | None = None) -> datetime | None:
    """When a source may be fetched again (None: now): after the server's Retry-After, and after the
    longer of its interval (its own, else `default_minutes`) and the feed's own `<ttl>`."""
    if state is None or state.last_fetch_at is None:
        return None
    minutes = max(source.interval_minutes or default_minutes or 0, state.ttl_minutes or 0)
    when = state.last_fetch_at + timedelta(minutes=minutes) if minutes else None
    if state.retry_after_until:
        when = max(when, state.retry_after_until) if when else state.retry_after_until
    return when


def ingest(app: App, *, now: datetime, sources: Iterable[Source] | None = None, force: bool = False,
           progress: Progress | None = None) -> IngestReport:
    """Ingest the given (default: every configured) source; per-source intervals apply unless `force`."""
    store = app.store
    todo: list[Source] = []
    skipped: list[SourceResult] = []
    chosen = list(app.settings.sources if sources is None else sources)
    for source in chosen:
        state = store.sources.state(source.name)
        when = None if force else next_fetch_at(source, state)
        if when is not None and when > now:
            until = state.retry_after_until if state is not None else None
            waiting = until is not None and until > now
            skipped.append(SourceResult(
                name=source.name, kind=source.kind, status="waiting" if waiting else "not-due",
                error=f"server asked to wait until {until:%Y-%m-%d %H:%M} UTC" if waiting and until else None,
            ))
            continue
        todo.append(source)
    results = list(skipped)
    if not todo:
        return IngestReport(results=tuple(results))
    workers = max(1, min(app.settings.fetch_workers, len(todo)))
    with parser(app, len(todo)) as parse, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        futures = {pool.submit(collect, app, source, now, parse): source for source in todo}
        for done, future in enumerate(as_completed(futures), 1):
            source = futures[future]
            try:
                collected = future.result()
            except Exception as exc:  # a bug in one source's path must not stop the others
                log.exception("unexpected error while reading source %s", source.name)
                collected = Collected(source=source, status="error", error=f"unexpected error: {exc!r}")
            results.append(_store_collected(app, collected, now))
            if progress:
                progress(source.name, done, len(todo))
    order = {s.name: i for i, s in enumerate(chosen)}
    return IngestReport(results=tuple(sorted(results, key=lambda r: order.get(r.name, 0))))


def _store_collected(app: App, c: Collected, now: datetime) -> SourceResult:
    src = c.source
    store = app.store
    new = updated = unchanged = 0
    error = c.error
    status = c.status
    errors = list(c.errors)
    if c.articles:
        result, refused = store.articles.upsert_each(c.articles, now=now)
        errors += refused
        new, updated, unchanged = len(result.new), len(result.updated), len(result.unchanged)
    failed = len(errors) + (1 if status == "error" else 0)
    if errors:
        for e in errors:
            log.warning("source %r: %s", src.name, e)
        first = errors[0] if len(errors) == 1 else f"{errors[0]} (+{len(errors) - 1} more)"
        error = error or first
        if not (new or updated or unchanged) and status == "ok":
            status = "error"
    if status == "error":
        log.error("source %s failed: %s", src.name, error)
    store.sources.record_fetch(
        name=src.name, kind=src.kind, location=src.location, now=now, status=status, error=error,
        etag=c.etag, last_modified=c.last_modified, retry_after_until=c.retry_after_until,
        ttl_minutes=c.ttl_minutes, new=new, updated=updated, unchanged=unchanged, failed=failed,
    )
    return SourceResult(name=src.name, kind=src.kind, status=status, new=new, updated=updated,
                        unchanged=unchanged, failed=failed, error=error, seconds=c.seconds)


def retag(app: App, *, now: datetime, progress: Progress | None = None) -> tuple[int, int]:
    """Recompute the tags of every stored article; returns (articles seen, articles changed)."""
    store = app.store
    sources = {s.name: s for s in app.settings.sources}
    seen = changed = 0
    total = store.articles.count()
    for batch in store.articles.iter_batches():
        unknown = Source(name="", kind="file", location="")
        tagged = [tag_article(app.tagger, replace(a, section=None), sources.get(a.source, unknown), fallback_section=a.section)
                  for a in batch]
        result = store.articles.upsert(tagged, now=now)
        seen += len(batch)
        changed += len(result.updated)
        if progress:
            progress("retag", seen, total)
    return seen, changed
