"""Fetch or read one source and parse what came: runs in a fetching thread, never writes the store."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from feedpipe.app import App
from feedpipe.core.errors import ExtractError, FeedpipeError, FetchError
from feedpipe.core.model import Article, Source
from feedpipe.extract import parse_page
from feedpipe.extract.ttl import feed_ttl
from feedpipe.ingest.parse import Parse
from feedpipe.parsing import tag_article
from feedpipe.store.sources import SourceState

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".txt", ".md")


@dataclass(frozen=True, kw_only=True)
class Collected:
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


def adhoc_sources(locations: Iterable[str]) -> list[Source]:
    """Sources for `feedpipe ingest PATH|URL ...`: a URL is read as a feed, or as a page when it is one."""
    out = []
    for loc in locations:
        if urlparse(loc).scheme in ("http", "https"):
            out.append(Source(name=loc, kind="url", location=loc))
        else:
            out.append(Source(name=str(Path(loc).resolve()), kind="file", location=str(Path(loc).resolve())))
    return out


def configured_source(sources: Iterable[Source], location: str) -> Source | None:
    """The configured source a file or URL belongs to: the same URL, else a feed or page source on the
    same host (www. aside); a file inside a file source's folder. None when no source claims it."""
    if urlparse(location).scheme in ("http", "https"):
        urls = [s for s in sources if s.kind != "file"]
        same = next((s for s in urls if s.location == location), None)
        host = _host(location)
        return same or next((s for s in urls if host and _host(s.location) == host), None)
    path = Path(location).resolve()
    return next((s for s in sources if s.kind == "file" and path.is_relative_to(Path(s.location).resolve())), None)


def _host(url: str) -> str:
    return (urlparse(url).hostname or "").removeprefix("www.")


def collect(app: App, source: Source, now: datetime, parse: Parse, state: SourceState | None) -> Collected:
    """Fetch or read one source and parse and tag what came; runs in a worker thread. `state` is the
    source's stored state as the run began (its validators), read once for every source."""
    started = time.monotonic()
    try:
        if source.kind == "file":
            collected = _collect_files(app, source, parse, state)
        else:
            collected = _collect_url(app, source, parse, state)
    except FetchError as exc:
        retry_until = now + timedelta(seconds=exc.retry_after) if exc.retry_after else None
        collected = Collected(source=source, status="error", error=str(exc), retry_after_until=retry_until)
    except FeedpipeError as exc:
        collected = Collected(source=source, status="error", error=str(exc))
    return replace(collected, seconds=time.monotonic() - started)


def _collect_url(app: App, source: Source, parse: Parse, state: SourceState | None) -> Collected:
    same_place = state if state is not None and state.location == source.location else None
    fetched = app.fetcher.get(
        source.location,
        etag=same_place.etag if same_place else None,
        last_modified=same_place.last_modified if same_place else None,
        obey_robots=source.kind == "page",  # robots.txt governs pages, not feeds
    )
    if fetched.not_modified:
        return Collected(source=source, status="not-modified")
    # a configured feed must be a feed, a page a page; an ad hoc URL may be either
    kind = {"page": "page", "feed": "feed"}.get(source.kind)
    found = parse(fetched.body, fetched.final_url, source, fetched.content_type, kind)
    for note in found.notes:  # said on every fetch until the config is fixed
        log.warning("%s", note)
    articles, errors = found.articles, list(found.errors)
    if source.full_text:
        articles = [_with_full_text(app, a, source, errors) for a in articles]
    return Collected(source=source, articles=articles, errors=errors, etag=fetched.etag,
                      last_modified=fetched.last_modified,
                      ttl_minutes=feed_ttl(fetched.body) if found.kind == "feed" else None)


def _with_full_text(app: App, article: Article, source: Source, errors: list[str]) -> Article:
    """Fetch the item's page for its full text, once (a stored article keeps the text it has), and
    tag the article again on that text."""
    stored = app.store.articles.get(article.id)
    if stored is not None and stored.text and len(stored.text) >= len(article.text):
        return replace(article, text=stored.text, content_html=stored.content_html, content_hash=stored.content_hash,
                       countries=stored.countries, topics=stored.topics, section=stored.section)
    try:
        fetched = app.fetcher.get(article.url, obey_robots=True)
        page = parse_page(fetched.body, fetched.final_url, source=article.source)
    except FeedpipeError as exc:
        errors.append(f"{article.url}: full text not fetched: {exc}")
        return article
    if len(page.text) <= len(article.text):
        return replace(article, published_at=article.published_at or page.published_at)
    full = replace(article, text=page.text, content_html=page.content_html, content_hash=page.content_hash,
                   image=article.image or page.image, authors=article.authors or page.authors,
                   published_at=article.published_at or page.published_at)  # an undated item: the page's date
    return tag_article(app.tagger, full, source)


def _collect_files(app: App, source: Source, parse: Parse, state: SourceState | None) -> Collected:
    root = Path(source.location)
    if not root.exists():
        return Collected(source=source, status="error",
                          error=f"{root}: no such file or folder (hint: fix the source's path in the config)")
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and not any(part.startswith(".") for part in p.parts)
    )
    validator = _files_validator(files)
    if state and state.etag == validator and state.location == source.location and state.status in ("ok", "not-modified"):
        return Collected(source=source, status="not-modified", etag=validator)
    articles: list[Article] = []
    errors: list[str] = []
    cap = app.settings.fetch.max_bytes
    for path in files:
        try:
            if path.stat().st_size > cap:
                raise ExtractError(f"{path}: larger than the {cap:,}-byte cap",
                                   "raise [fetch] max_bytes or split the file")
            found = parse(path.read_bytes(), path.as_uri(), source, None, None)
            articles.extend(found.articles)
            errors.extend(found.errors)
        except FeedpipeError as exc:
            errors.append(str(exc))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror}")
    return Collected(source=source, articles=articles, errors=errors, etag=validator)


def _files_validator(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in files:
        st = p.stat()
        digest.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "files:" + digest.hexdigest()[:32]
