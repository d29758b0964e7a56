"""Wire the stages: sources → fetch → extract → tag → store, then feeds and the digest.

One bad source, file or item is recorded with its error and never stops the others. Fetching,
extraction and tagging run in worker threads; every write to the store happens on the calling
thread, one transaction per source, so an acknowledged article is committed before the next
source is touched.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from feedpipe.core.errors import ExtractError, FeedpipeError, FetchError
from feedpipe.core.model import Article, Source
from feedpipe.extract.ttl import feed_ttl

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".txt", ".md")
Progress = Callable[[str, int, int], None]  # (source name, done, total)


@dataclass(frozen=True, kw_only=True)
class SourceResult:
    name: str
    kind: str
    status: str  # ok | not-modified | error | waiting | not-due
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    results: tuple[SourceResult, ...] = ()

    @property
    def failed_sources(self) -> tuple[SourceResult, ...]:
        return tuple(r for r in self.results if r.status == "error")

    def total(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.results)


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    ingest: IngestReport
    feeds: object | None = None  # feedset.PublishReport
    digest_preview: Path | None = None
    edition_sent: str | None = None
    send_report: object | None = None

    def lines(self) -> list[str]:
        """A short human summary of everything after ingest."""
        out = []
        if self.feeds is not None:
            out.append(f"feeds: {self.feeds.summary()}")
        if self.digest_preview is not None:
            out.append(f"digest preview: {self.digest_preview}")
        if self.edition_sent:
            r = self.send_report
            out.append(f"digest {self.edition_sent}: {r.sent} sent, {r.failed} failed, {r.uncertain} uncertain, "
                       f"{r.already} sent earlier")
        return out


@dataclass(frozen=True, kw_only=True)
class _Collected:
    """What a worker brings back for one source: articles, per-item errors, validators."""

    source: Source
    articles: list[Article] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after_until: datetime | None = None
    ttl_minutes: int | None = None
    seconds: float = 0.0


def next_fetch_at(source: Source, state, *, default_minutes: int | None = None) -> datetime | None:
    """When a source may be fetched again (None: now): after the server's Retry-After, and after the
    longer of its interval (its own, else `default_minutes`) and the feed's own `<ttl>`."""
    if state is None or state.last_fetch_at is None:
        return None
    minutes = max(source.interval_minutes or default_minutes or 0, state.ttl_minutes or 0)
    when = state.last_fetch_at + timedelta(minutes=minutes) if minutes else None
    if state.retry_after_until:
        when = max(when, state.retry_after_until) if when else state.retry_after_until
    return when


def ingest(app, *, now: datetime, sources: Iterable[Source] | None = None, force: bool = False,
           progress: Progress | None = None) -> IngestReport:
    """Ingest the given (default: every configured) source; per-source intervals apply unless `force`."""
    store = app.store
    todo: list[Source] = []
    skipped: list[SourceResult] = []
    for source in (app.settings.sources if sources is None else sources):
        state = store.sources.state(source.name)
        when = None if force else next_fetch_at(source, state)
        if when is not None and when > now:
            waiting = state.retry_after_until is not None and state.retry_after_until > now
            skipped.append(SourceResult(
                name=source.name, kind=source.kind, status="waiting" if waiting else "not-due",
                error=f"server asked to wait until {state.retry_after_until:%Y-%m-%d %H:%M} UTC" if waiting else None,
            ))
            continue
        todo.append(source)
    results = list(skipped)
    if not todo:
        return IngestReport(results=tuple(results))
    workers = max(1, min(app.settings.fetch_workers, len(todo)))
    with _parser(app, len(todo)) as parse, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        futures = {pool.submit(_collect, app, source, now, parse): source for source in todo}
        for done, future in enumerate(as_completed(futures), 1):
            source = futures[future]
            try:
                collected = future.result()
            except Exception as exc:  # a bug in one source's path must not stop the others
                log.exception("unexpected error while reading source %s", source.name)
                collected = _Collected(source=source, status="error", error=f"unexpected error: {exc!r}")
            results.append(_store_collected(app, collected, now))
            if progress:
                progress(source.name, done, len(todo))
    order = {s.name: i for i, s in enumerate(app.settings.sources if sources is None else sources)}
    return IngestReport(results=tuple(sorted(results, key=lambda r: order.get(r.name, 0))))


def adhoc_sources(locations: Iterable[str]) -> list[Source]:
    """Sources for `feedpipe ingest PATH|URL ...`: a URL is read as a feed, or as a page when it is one."""
    out = []
    for loc in locations:
        if urlparse(loc).scheme in ("http", "https"):
            out.append(Source(name=loc, kind="url", location=loc))
        else:
            out.append(Source(name=str(Path(loc).resolve()), kind="file", location=str(Path(loc).resolve())))
    return out


def _collect(app, source: Source, now: datetime, parse: Parse) -> _Collected:
    """Fetch or read one source and parse and tag what came; runs in a worker thread."""
    started = time.monotonic()
    try:
        if source.kind == "file":
            collected = _collect_files(app, source, parse)
        else:
            collected = _collect_url(app, source, parse)
    except FetchError as exc:
        retry_until = now + timedelta(seconds=exc.retry_after) if exc.retry_after else None
        collected = _Collected(source=source, status="error", error=str(exc), retry_after_until=retry_until)
    except FeedpipeError as exc:
        collected = _Collected(source=source, status="error", error=str(exc))
    return replace(collected, seconds=time.monotonic() - started)


def _collect_url(app, source: Source, parse: Parse) -> _Collected:
    state = app.store.sources.state(source.name)
    same_place = state is not None and state.location == source.location
    fetched = app.fetcher.get(
        source.location,
        etag=state.etag if same_place else None,
        last_modified=state.last_modified if same_place else None,
    )
    if fetched.not_modified:
        return _Collected(source=source, status="not-modified")
    # a configured feed must be a feed, a page a page; an ad hoc URL may be either
    kind = {"page": "page", "feed": "feed"}.get(source.kind)
    articles, errors = parse(fetched.body, fetched.final_url, source, fetched.content_type, kind)
    if source.full_text:
        articles = [_with_full_text(app, a, source, errors) for a in articles]
    return _Collected(source=source, articles=articles, errors=errors, etag=fetched.etag,
                      last_modified=fetched.last_modified,
                      ttl_minutes=feed_ttl(fetched.body) if source.kind != "page" else None)


def _with_full_text(app, article: Article, source: Source, errors: list[str]) -> Article:
    """Fetch the item's page for its full text, once (a stored article keeps the text it has), and
    tag the article again on that text."""
    from feedpipe.extract.page import parse_page

    stored = app.store.articles.get(article.id)
    if stored is not None and stored.text and len(stored.text) >= len(article.text):
        return replace(article, text=stored.text, content_html=stored.content_html, content_hash=stored.content_hash,
                       countries=stored.countries, topics=stored.topics, section=stored.section)
    try:
        fetched = app.fetcher.get(article.url)
        page = parse_page(fetched.body, fetched.final_url, source=article.source)
    except FeedpipeError as exc:
        errors.append(f"{article.url}: full text not fetched: {exc}")
        return article
    if len(page.text) <= len(article.text):
        return article
    full = replace(article, text=page.text, content_html=page.content_html, content_hash=page.content_hash,
                   image=article.image or page.image, authors=article.authors or page.authors)
    return _tag(app.tagger, full, source)


def _collect_files(app, source: Source, parse: Parse) -> _Collected:
    root = Path(source.location)
    if not root.exists():
        return _Collected(source=source, status="error",
                          error=f"{root}: no such file or folder (hint: fix the source's path in the config)")
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and not any(part.startswith(".") for part in p.parts)
    )
    validator = _files_validator(files)
    state = app.store.sources.state(source.name)
    if state and state.etag == validator and state.location == source.location and state.status in ("ok", "not-modified"):
        return _Collected(source=source, status="not-modified", etag=validator)
    articles: list[Article] = []
    errors: list[str] = []
    cap = app.settings.fetch.max_bytes
    for path in files:
        try:
            if path.stat().st_size > cap:
                raise ExtractError(f"{path}: larger than the {cap:,}-byte cap",
                                   "raise [fetch] max_bytes or split the file")
            found, file_errors = parse(path.read_bytes(), path.as_uri(), source, None, None)
            articles.extend(found)
            errors.extend(file_errors)
        except FeedpipeError as exc:
            errors.append(str(exc))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror}")
    return _Collected(source=source, articles=articles, errors=errors, etag=validator)


def _files_validator(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in files:
        st = p.stat()
        digest.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "files:" + digest.hexdigest()[:32]


# -- parsing and tagging: in the fetching threads, or in worker processes -----------------------------

# (body, location, source, content type, kind "feed" | "page" | None to sniff) -> (tagged articles, errors)
Parse = Callable[[bytes, str, Source, str | None, str | None], tuple[list[Article], list[str]]]
AUTO_PROCESSES_FROM = 8  # sources in one run before worker processes pay for their start-up


def parse_and_tag(tagger, body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> tuple[list[Article], list[str]]:
    """Turn one document into tagged articles; a JSON Lines file's bad lines become errors (the good
    ones still count). Raises ExtractError when nothing can be read."""
    from feedpipe.extract import extract, sniff_kind
    from feedpipe.extract.jsonl import parse_jsonl
    from feedpipe.extract.page import parse_page

    errors: list[str] = []
    if kind == "page":
        articles = [parse_page(body, location, source=source.name)]
    elif kind is None and sniff_kind(body, location, content_type) == "jsonl":
        articles, line_errors = parse_jsonl(body, location, source=source.name)
        errors = [f"{location}: {e}" for e in line_errors]
    else:
        articles = extract(body, location, source=source.name, content_type=content_type, kind_hint=kind)
    return [_tag(tagger, a, source) for a in articles], errors


def _processes(app, sources: int) -> int:
    setting = app.settings.parse_processes
    if setting == "auto":
        cores = os.cpu_count() or 1
        return min(cores, 4) if cores > 1 and sources >= AUTO_PROCESSES_FROM else 0
    return setting


@contextlib.contextmanager
def _parser(app, sources: int) -> Iterator[Parse]:
    """Parsing and tagging hold the GIL; with several cores and many sources they run in worker
    processes (fetching, politeness and every store write stay in this process)."""
    processes = _processes(app, sources)
    if processes <= 0:
        yield functools.partial(parse_and_tag, app.tagger)
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_init_worker,
                             initargs=(app.settings.tagging_dir, os.getpid())) as pool:

        def parse(body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> tuple[list[Article], list[str]]:
            try:
                outcome = pool.submit(_parse_in_worker, body, location, source, content_type, kind).result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): parse here instead
                log.warning("a parse worker died; %s is parsed in the main process", location)
                return parse_and_tag(app.tagger, body, location, source, content_type, kind)
            if isinstance(outcome, str):
                raise ExtractError(outcome)
            return outcome

        yield parse


_worker_tagger = None  # built once in each worker process by _init_worker


def _init_worker(tagging_dir: Path | None, parent: int) -> None:
    global _worker_tagger
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    from feedpipe.tagging import Tagger

    logging.getLogger("feedpipe").setLevel(logging.ERROR)
    # A SIGTERM or Ctrl-C meant for the whole service or process group is the parent's to handle:
    # it finishes the current step, then shuts this pool down.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_tagger = Tagger.load(tagging_dir)


def _exit_with_parent(parent: int) -> None:
    """A killed ingest (kill -9, OOM) must not leave its workers behind, waiting for work forever.
    `parent` is passed in: by the time this runs, the parent may already be gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _parse_in_worker(body: bytes, location: str, source: Source, content_type: str | None, kind: str | None):
    """In a worker process: the parse and tag, or the error's text (errors with hints do not pickle)."""
    try:
        return parse_and_tag(_worker_tagger, body, location, source, content_type, kind)
    except FeedpipeError as exc:
        return str(exc)


def _tag(tagger, article: Article, source: Source, *, fallback_section: str | None = None) -> Article:
    """Add country, topic and section tags. A section the input named itself wins over the
    tagger's guess from categories and URL, then `fallback_section` (the stored one, on retag),
    the source's default, and "news"."""
    given = article.extra.get("section_given") or article.section
    tags = tagger.tag(article.title, article.text or article.summary, url=article.url,
                      categories=article.categories, source_country=source.country)
    extra = {**article.extra, "section_given": given} if given else article.extra
    return replace(article, countries=tags.countries, topics=tags.topics,
                   section=given or tags.section or fallback_section or source.section or "news", extra=extra)


def _store_collected(app, c: _Collected, now: datetime) -> SourceResult:
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


def retag(app, *, now: datetime, progress: Progress | None = None) -> tuple[int, int]:
    """Recompute the tags of every stored article; returns (articles seen, articles changed)."""
    store = app.store
    sources = {s.name: s for s in app.settings.sources}
    seen = changed = 0
    total = store.articles.count()
    for batch in store.articles.iter_batches():
        unknown = Source(name="", kind="file", location="")
        tagged = [_tag(app.tagger, replace(a, section=None), sources.get(a.source, unknown), fallback_section=a.section)
                  for a in batch]
        result = store.articles.upsert(tagged, now=now)
        seen += len(batch)
        changed += len(result.updated)
        if progress:
            progress("retag", seen, total)
    return seen, changed


def publish_feeds(app, *, now: datetime, only_dirty: bool = True):
    """Rebuild the feeds whose articles changed (all of them when `only_dirty` is false)."""
    from feedpipe.feedset import publish_feeds as publish
    from feedpipe.websub import websub_ping

    settings = app.settings
    ping = None
    if settings.feeds.websub_hub:
        def ping(url: str) -> None:
            websub_ping(settings.feeds.websub_hub, url)
    return publish(app.store, settings.feeds_dir, settings.feeds, only_dirty=only_dirty, ping=ping)


def build_digest_preview(app, *, now: datetime) -> Path:
    """The web view of the edition being collected now, so an editor can look at it any day."""
    from feedpipe.digest import build_edition
    from feedpipe.digest.editions import current_edition

    key = current_edition(now, app.settings.digest)
    return build_edition(app.store, app.settings.digest, app.settings.feeds_public_url, key, now,
                         app.settings.digest_dir)


def send_due_digest(app, *, now: datetime):
    """Build and send the due edition, if any; the store's ledger makes this idempotent."""
    from feedpipe.digest import build_edition, send_edition
    from feedpipe.digest.editions import due_edition

    key = due_edition(now, app.settings.digest, app.store.editions)
    if key is None:
        return None, None
    build_edition(app.store, app.settings.digest, app.settings.feeds_public_url, key, now, app.settings.digest_dir)
    report = send_edition(app.store, app.settings.digest, app.transport(), key, now)
    return key, report


def run_cycle(app, *, now: datetime, force: bool = False, progress: Progress | None = None) -> CycleReport:
    """One cron cycle: ingest, rebuild changed feeds, refresh the digest preview, send a due edition."""
    report = ingest(app, now=now, force=force, progress=progress)
    feeds = publish_feeds(app, now=now)
    preview = build_digest_preview(app, now=now)
    key, send_report = send_due_digest(app, now=now)
    return CycleReport(ingest=report, feeds=feeds, digest_preview=preview, edition_sent=key,
                       send_report=send_report)
