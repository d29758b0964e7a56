"""Where each document is parsed and tagged: in the fetching threads, or in worker processes.

Parsing and tagging hold the GIL; worker processes (spawned, never forked; they import only
`feedpipe.parsing`: extract and tagging, no store) run them on other cores, while fetching, politeness
and every store write stay in the main process. "auto" (the default) starts one worker per core, up to
4, when a run has 8 page or file sources or more (trafilatura is their cost), every page and file
going there. Feeds are shared: one goes to a worker while the workers have less than two documents
each waiting, and is parsed in its fetching thread otherwise, so that neither side waits.

A run of feeds alone starts no worker in "auto": measured on the 79 real feeds
(benchmarks/bench_peer.py, 2 cores shared with other work, load 6-9), a worker sharing the feeds cost
0.25-0.6 CPU-s more (its imports and a second tagger) and made the run slower, wall 7.7 against 6.7 s
even with the benchmark's processes favoured (nice -10). `[fetch] processes = N` starts N workers.
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
)

__all__ = ["AUTO_PROCESSES_FROM", "Parse", "parse_and_tag", "parser"]

log = logging.getLogger(__name__)

# (body, location, source, content type, kind "feed" | "page" | None to sniff) -> tagged articles, errors, notes
Parse = Callable[[bytes, str, Source, str | None, str | None], Extraction]
AUTO_PROCESSES_FROM = 8  # page or file sources in one run before worker processes pay for their start-up
SHARED_KINDS = ("feed",)  # parsed where there is a free core: this process or a worker
WAITING_PER_WORKER = 2  # shared documents queued per worker before the next one is parsed here


def _processes(app: App, sources: Sequence[Source]) -> int:
    setting = app.settings.parse_processes
    if isinstance(setting, int):
        return setting
    cores = os.cpu_count() or 1  # "auto": only for runs with many pages or files
    heavy = sum(1 for s in sources if s.kind not in SHARED_KINDS)
    return min(cores, 4) if cores > 1 and heavy >= AUTO_PROCESSES_FROM else 0


@contextlib.contextmanager
def parser(app: App, sources: Sequence[Source]) -> Iterator[Parse]:
    """The Parse function for one run over `sources`, with its worker processes (started at once, so
    that they are ready when the first documents arrive; shut down when the run ends)."""
    processes = _processes(app, sources)
    if processes <= 0:
        yield functools.partial(parse_and_tag, app.tagger)
        return
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
                local = source.kind in SHARED_KINDS and waiting >= WAITING_PER_WORKER * processes
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
