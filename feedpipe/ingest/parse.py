"""Where each document is parsed and tagged: in the fetching threads, or in worker processes.

Parsing and tagging hold the GIL; on several cores they also run in worker processes (spawned, never
forked; they import only `feedpipe.parsing`: extract and tagging, no store), while fetching, politeness
and every store write stay in the main process. "auto" (the default) decides by the run:

- many page or file sources (trafilatura is their cost): one worker per core, up to 4, every page and
  file sent there;
- many feeds, and cores that are idle (by the load average): one worker per idle core but one, up to
  3, sharing the work: a feed goes to a worker while the workers have less than two documents each
  waiting, and is parsed in its fetching thread otherwise, so that neither side waits for the other.
  Measured on the 79 real feeds (benchmarks/bench_peer.py) on a busy 2-core machine, a worker costs
  ~0.6 CPU-s more and made the run slower (4.9 against 4.35 CPU-s; wall 12.3 against 8.6 s at load 7-8):
  with no idle core, feeds are parsed in the fetching threads.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from feedpipe.app import App
from feedpipe.core.errors import ExtractError
from feedpipe.core.model import Source
from feedpipe.extract import Extraction
from feedpipe.parsing import (
    init_worker,
    parse_and_tag,
    parse_in_worker,
    ready,
    tag_article,
    tag_article_noted,
)

__all__ = ["AUTO_FEEDS_FROM", "AUTO_PROCESSES_FROM", "Parse", "parse_and_tag", "parser", "tag_article",
           "tag_article_noted"]

log = logging.getLogger(__name__)

# (body, location, source, content type, kind "feed" | "page" | None to sniff) -> tagged articles, errors, notes
Parse = Callable[[bytes, str, Source, str | None, str | None], Extraction]
AUTO_PROCESSES_FROM = 8  # page or file sources in one run before worker processes pay for their start-up
AUTO_FEEDS_FROM = 24  # feeds in one run before a worker sharing their parsing pays for its start-up
SHARED_KINDS = ("feed",)  # in "auto": parsed where there is a free core, this process or a worker
WAITING_PER_WORKER = 2  # shared documents queued per worker before the next one is parsed here


def _processes(app: App, sources: Sequence[Source]) -> int:
    setting = app.settings.parse_processes
    if isinstance(setting, int):
        return setting
    cores = os.cpu_count() or 1
    if cores <= 1:
        return 0
    heavy = sum(1 for s in sources if s.kind not in SHARED_KINDS)
    if heavy >= AUTO_PROCESSES_FROM:
        return min(cores, 4)
    if len(sources) - heavy < AUTO_FEEDS_FROM:
        return 0
    # A worker for feeds only pays for its start-up (~0.5 CPU-s: imports, a second tagger) on a core that
    # would otherwise idle: on a busy machine it only competes with this process (measured, see above).
    free = cores - 1 - os.getloadavg()[0]  # cores left once this process has one
    return max(0, min(round(free), 3))


@contextlib.contextmanager
def parser(app: App, sources: Sequence[Source]) -> Iterator[Parse]:
    """The Parse function for one run over `sources`, with its worker processes (started at once, so
    that they are ready when the first documents arrive; shut down when the run ends)."""
    processes = _processes(app, sources)
    if processes <= 0:
        yield functools.partial(parse_and_tag, app.tagger)
        return
    shared = app.settings.parse_processes == "auto"
    waiting = 0
    counts = {"here": 0, "workers": 0}
    lock = threading.Lock()
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    with ProcessPoolExecutor(processes, mp_context=context, initializer=init_worker,
                             initargs=(app.settings.tagging_dir, os.getpid())) as pool:
        for _ in range(processes):
            pool.submit(ready)  # start the workers now: their imports overlap this process's work
        here = functools.partial(parse_and_tag, app.tagger)

        def parse(body: bytes, location: str, source: Source, content_type: str | None,
                  kind: str | None) -> Extraction:
            nonlocal waiting
            with lock:
                local = shared and source.kind in SHARED_KINDS and waiting >= WAITING_PER_WORKER * processes
                if not local:
                    waiting += 1
                counts["here" if local else "workers"] += 1
            if local:
                return here(body, location, source, content_type, kind)
            try:
                outcome = pool.submit(parse_in_worker, body, location, source, content_type, kind).result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): parse here instead
                log.warning("a parse worker died; %s is parsed in the main process", location)
                return parse_and_tag(app.tagger, body, location, source, content_type, kind)
            finally:
                with lock:
                    waiting -= 1
            if isinstance(outcome, str):
                raise ExtractError(outcome)
            return outcome

        yield parse
    log.debug("parsed %d documents in this process and %d in %d worker process(es)", counts["here"],
              counts["workers"], processes)
