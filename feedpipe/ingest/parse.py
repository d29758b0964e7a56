"""Bytes to tagged articles: in the fetching threads, or in worker processes when a run has many pages.

Parsing and tagging hold the GIL; with several cores and many page (or file) sources they run in worker
processes (spawned, never forked), while fetching, politeness and every store write stay in the main
process. Feeds are always parsed in the fetching threads: measured on the 79 real feeds
(benchmarks/bench_peer.py), the pool cost more CPU (start-up, a second tagger per worker, pickling
every article back) than it saved: 4.3-5.6 CPU-s serial against 6.2-6.4 CPU-s with the pool.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from feedpipe.app import App
from feedpipe.core.errors import ExtractError, FeedpipeError
from feedpipe.core.model import Article, Source
from feedpipe.extract import Extraction, read_document
from feedpipe.tagging import Tagger

log = logging.getLogger(__name__)

# (body, location, source, content type, kind "feed" | "page" | None to sniff) -> tagged articles, errors, notes
Parse = Callable[[bytes, str, Source, str | None, str | None], Extraction]
AUTO_PROCESSES_FROM = 8  # page or file sources in one run before worker processes pay for their start-up
IN_PROCESS_KINDS = ("feed",)  # never sent to a worker process: parsing them is cheaper than the round trip


def parse_and_tag(tagger: Tagger, body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> Extraction:
    """Turn one document into tagged articles by `read_document` (the one sniffing and extraction
    path); a JSON Lines file's bad lines are its errors (the good ones still count). Raises
    ExtractError when nothing can be read."""
    found = read_document(body, location, source=source.name, content_type=content_type, expected=kind)
    return replace(found, articles=[tag_article(tagger, a, source) for a in found.articles])


def _processes(app: App, sources: Sequence[Source]) -> int:
    setting = app.settings.parse_processes
    if isinstance(setting, int):
        return setting
    cores = os.cpu_count() or 1  # "auto": only for runs with many pages (trafilatura is their cost)
    heavy = sum(1 for s in sources if s.kind not in IN_PROCESS_KINDS)
    return min(cores, 4) if cores > 1 and heavy >= AUTO_PROCESSES_FROM else 0


@contextlib.contextmanager
def parser(app: App, sources: Sequence[Source]) -> Iterator[Parse]:
    """Parsing and tagging hold the GIL; with several cores and many page or file sources those run in
    worker processes (fetching, politeness, every store write and every feed stay in this process)."""
    processes = _processes(app, sources)
    here = functools.partial(parse_and_tag, app.tagger)
    if processes <= 0:
        yield here
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_init_worker,
                             initargs=(app.settings.tagging_dir, os.getpid())) as pool:

        def parse(body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> Extraction:
            if source.kind in IN_PROCESS_KINDS and app.settings.parse_processes == "auto":
                return here(body, location, source, content_type, kind)
            try:
                outcome = pool.submit(_parse_in_worker, body, location, source, content_type, kind).result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): parse here instead
                log.warning("a parse worker died; %s is parsed in the main process", location)
                return parse_and_tag(app.tagger, body, location, source, content_type, kind)
            if isinstance(outcome, str):
                raise ExtractError(outcome)
            return outcome

        yield parse


_worker_tagger: Tagger | None = None  # built once in each worker process by _init_worker


def _init_worker(tagging_dir: Path | None, parent: int) -> None:
    global _worker_tagger
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
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


def _parse_in_worker(body: bytes, location: str, source: Source, content_type: str | None,
                     kind: str | None) -> Extraction | str:
    """In a worker process: the parse and tag, or the error's text (errors with hints do not pickle)."""
    assert _worker_tagger is not None, "the pool initializer builds the tagger"
    try:
        return parse_and_tag(_worker_tagger, body, location, source, content_type, kind)
    except FeedpipeError as exc:
        return str(exc)


def tag_article(tagger: Tagger, article: Article, source: Source, *, fallback_section: str | None = None) -> Article:
    """`tag_article_noted` without the notes: what ingest and retag store."""
    return tag_article_noted(tagger, article, source, fallback_section=fallback_section)[0]


def tag_article_noted(tagger: Tagger, article: Article, source: Source, *,
                      fallback_section: str | None = None) -> tuple[Article, tuple[str, ...]]:
    """Add country, topic and section tags. A section the input named itself wins over the
    tagger's guess from categories and URL, then `fallback_section` (the stored one, on retag),
    the source's default, and "news". Also returns the tagger's notes (how the language was found, why
    there are no topics), which `feedpipe tag` prints."""
    recorded = article.extra.get("section_given")
    given = recorded if isinstance(recorded, str) and recorded else article.section
    said = article.extra.get("language_declared")  # what the feed said, kept when the text said otherwise
    declared = said if isinstance(said, str) else article.language
    tags = tagger.tag(article.title, article.text or article.summary, url=article.url,
                      categories=article.categories, source_country=source.country, language=declared)
    extra = {**article.extra, "section_given": given} if given else article.extra
    if declared and tags.language != declared and "language_declared" not in extra:
        extra = {**extra, "language_declared": declared}
    return replace(article, countries=tags.countries, topics=tags.topics, language=tags.language or declared,
                   section=given or tags.section or fallback_section or source.section or "news", extra=extra), tuple(tags.notes)
