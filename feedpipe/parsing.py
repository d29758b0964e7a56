"""Bytes to tagged articles, importing only the parts that do it (extract, tagging, core): what a parse
worker process loads, so that it is ready in a fraction of the time the whole ingest service takes to
import (no store, no fetching, no SQLAlchemy). `feedpipe.ingest.parse` decides where each document is
parsed; this module is the work itself, in the fetching threads or in a worker process.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Article, Source
from feedpipe.extract import Extraction, read_document
from feedpipe.tagging import Tagger


def parse_and_tag(tagger: Tagger, body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> Extraction:
    """Turn one document into tagged articles by `read_document` (the one sniffing and extraction
    path); a JSON Lines file's bad lines are its errors (the good ones still count). Raises
    ExtractError when nothing can be read."""
    found = read_document(body, location, source=source.name, content_type=content_type, expected=kind)
    return replace(found, articles=[tag_article(tagger, a, source) for a in found.articles])


_worker_tagger: Tagger | None = None  # built once in each worker process by init_worker


def init_worker(tagging_dir: Path | None, parent: int) -> None:
    """A worker process's start: quiet logs, signals left to the parent, the tagger built once."""
    global _worker_tagger
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    logging.getLogger("feedpipe").setLevel(logging.ERROR)
    # A SIGTERM or Ctrl-C meant for the whole service or process group is the parent's to handle:
    # it finishes the current step, then shuts this pool down.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_tagger = Tagger.load(tagging_dir)


def ready() -> bool:
    """A no-op job: submitted first, it makes the pool start its worker (imports, tagger) at once."""
    return _worker_tagger is not None


def _exit_with_parent(parent: int) -> None:
    """A killed ingest (kill -9, OOM) must not leave its workers behind, waiting for work forever.
    `parent` is passed in: by the time this runs, the parent may already be gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def parse_in_worker(body: bytes, location: str, source: Source, content_type: str | None,
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
