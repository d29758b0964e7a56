"""The ingest service: sources -> fetch -> extract -> tag -> store.

One bad source, file or item is recorded with its error and never stops the others. Fetching,
extraction and tagging run in worker threads (and processes); every write to the store happens on
the calling thread. Sources are stored as they come, in batches: what was collected within
`BATCH_SECONDS` (at most `BATCH_SOURCES` sources) is written in one transaction, each source's
articles and its fetch record (validators, counts) together, each write atomic on its own (a
SAVEPOINT: one source's refused articles never undo another's). An article counts as ingested once
its batch is committed; a crash loses at most the batch being written, and since that batch's
validators were not committed either, the next run fetches those sources again in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import datetime

from feedpipe.app import App
from feedpipe.core.errors import StoreError
from feedpipe.core.model import Source
from feedpipe.ingest.collect import Collected, adhoc_sources, collect
from feedpipe.ingest.due import is_paused, next_fetch_at, skip
from feedpipe.ingest.parse import parser
from feedpipe.ingest.report import IngestReport, Progress, SourceResult
from feedpipe.parsing import tag_article
from feedpipe.store import UpsertResult

__all__ = ["IngestReport", "Progress", "SourceResult", "adhoc_sources", "ingest", "is_paused", "next_fetch_at",
           "retag", "skip"]

log = logging.getLogger(__name__)

BATCH_SOURCES = 16  # sources stored in one transaction, at most
BATCH_SECONDS = 0.5  # how long a collected source may wait for others to share its transaction


def ingest(app: App, *, now: datetime, sources: Iterable[Source] | None = None, force: bool = False,
           progress: Progress | None = None) -> IngestReport:
    """Ingest the given (default: every configured) source. Per-source intervals, the backoff of
    failing sources and Retry-After apply unless `force`; a paused source is skipped even then."""
    store = app.store
    todo: list[Source] = []
    skipped: list[SourceResult] = []
    chosen = list(app.settings.sources if sources is None else sources)
    states = {s.name: s for s in store.sources.states()}  # one query for the run, not two per source
    for source in chosen:
        why = skip(source, states.get(source.name), now, force=force,
                   backoff_minutes=app.settings.schedule.ingest_minutes)
        if why is not None:
            log.debug("source %s skipped: %s (%s)", source.name, why.status, why.reason)
            skipped.append(SourceResult(name=source.name, kind=source.kind, status=why.status, error=why.reason))
            continue
        todo.append(source)
    results = list(skipped)
    if not todo:
        return IngestReport(results=tuple(results))
    workers = max(1, min(app.settings.fetch_workers, len(todo)))
    with parser(app, todo) as parse, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        futures = {pool.submit(collect, app, source, now, parse, states.get(source.name)): source for source in todo}
        running: set[Future[Collected]] = set(futures)
        waiting: list[Collected] = []  # collected, not yet stored
        first_at = 0.0  # when the oldest of them came
        while running or waiting:
            timeout = max(0.0, first_at + BATCH_SECONDS - time.monotonic()) if waiting else None
            done, running = wait(running, timeout, FIRST_COMPLETED) if running else (set(), running)
            for future in done:
                if not waiting:
                    first_at = time.monotonic()
                waiting.append(_result(future, futures[future]))
            if waiting and (not running or len(waiting) >= BATCH_SOURCES
                            or time.monotonic() - first_at >= BATCH_SECONDS):
                for result in _store_batch(app, waiting, now):
                    results.append(result)
                    if progress:
                        progress(result.name, len(results) - len(skipped), len(todo))
                waiting = []
    order = {s.name: i for i, s in enumerate(chosen)}
    return IngestReport(results=tuple(sorted(results, key=lambda r: order.get(r.name, 0))))


def _store_batch(app: App, batch: list[Collected], now: datetime) -> list[SourceResult]:
    """Store collected sources in one transaction (each source's writes atomic on their own). If the
    transaction itself fails (a lost connection, a conflict with another process), nothing of it was
    committed: store each source again in a transaction of its own (once), so one failure never costs
    the others their articles and a passing conflict costs nothing."""
    try:
        with app.store.batch():
            return _store_sources(app, batch, now)
    except StoreError as exc:  # retried source by source; a second failure is raised from there
        log.warning("storing %d sources in one transaction failed (%s); storing them one at a time",
                    len(batch), exc)
    return [result for collected in batch for result in _store_sources(app, [collected], now)]


def _store_sources(app: App, batch: list[Collected], now: datetime) -> list[SourceResult]:
    """Each source's articles, then its fetch record, source after source: the articles of sources that
    share no stored row are written together (`upsert_groups`), with the same outcome."""
    stored = app.store.articles.upsert_groups([c.articles for c in batch], now=now,
                                              sources=[c.source.name for c in batch])
    return [_record_source(app, collected, now, *next(stored)) for collected in batch]


def _result(future: Future[Collected], source: Source) -> Collected:
    try:
        return future.result()
    except Exception as exc:  # a bug in one source's path must not stop the others
        log.exception("unexpected error while reading source %s", source.name)
        return Collected(source=source, status="error", error=f"unexpected error: {exc!r}")


def _record_source(app: App, c: Collected, now: datetime, result: UpsertResult, refused: list[str]) -> SourceResult:
    """Record one source's fetch, given what storing its articles gave (`result`, and the articles the
    store `refused`)."""
    src = c.source
    store = app.store
    error = c.error
    status = c.status
    errors = [*c.errors, *refused]
    new, updated, unchanged = len(result.new), len(result.updated), len(result.unchanged)
    failed = len(errors) + (1 if status == "error" else 0)
    if errors:
        for e in errors:
            log.warning("source %r: %s", src.name, e)
        first = errors[0] if len(errors) == 1 else f"{errors[0]} (+{len(errors) - 1} more)"
        error = error or first
        if not (new or updated or unchanged) and status == "ok":
            status = "error"
    pause_after = app.settings.schedule.pause_after_failures
    state = store.sources.record_fetch(
        name=src.name, kind=src.kind, location=src.location, now=now, status=status, error=error,
        etag=c.etag, last_modified=c.last_modified, retry_after_until=c.retry_after_until,
        ttl_minutes=c.ttl_minutes, new=new, updated=updated, unchanged=unchanged, failed=failed,
        pause_after=pause_after,
    )
    if state.paused:  # said once: a paused source is not fetched again until it is resumed
        log.warning("source %s paused after %d consecutive failures, the last: %s; resume with "
                    "`feedpipe sources --resume %s`", src.name, state.failures, error, src.name)
    elif status == "error":  # a warning per attempt, not an error per tick: the attempts back off
        when = next_fetch_at(src, state, default_minutes=app.settings.schedule.ingest_minutes,
                             backoff_minutes=app.settings.schedule.ingest_minutes)
        log.warning("source %s failed (attempt %d%s): %s; next try at %s", src.name, state.failures,
                    f" of {pause_after} before it is paused" if pause_after else "", error,
                    f"{when:%Y-%m-%d %H:%M} UTC" if when else "the next run")
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
