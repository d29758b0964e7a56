"""Which feeds exist (from the tags in use), and building them from the store into a folder.

`publish_feeds(store, out_dir, settings, only_dirty=...)` writes `all.*`, `country/<iso2>.*`,
`topic/<slug>.*`, `section/<name>.*` (each as .rss, .atom and .json) and `index.opml`; a file is
replaced only when its bytes change, feeds whose tag is no longer used are removed, and the
dirty-feed keys it built are cleared.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pycountry

from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.feeds import (
    FORMATS,
    EntryCache,
    FeedSpec,
    all_spec,
    country_spec,
    render_all,
    render_opml,
    section_spec,
    topic_specs,
)
from feedpipe.files import FILE_MODE, FileBatch
from feedpipe.store import Store
from feedpipe.store.catalogue import FeedKey
from feedpipe.store.protocols import FeedSnapshot

FEED_KINDS = ("all", "country", "topic", "section")
BATCH_FILES = 96  # files per disk flush (32 feeds); a build killed midway leaves at most these temporary files
OPML_NAME = "index.opml"
_FINGERPRINT_KEY = "feeds.fingerprint"  # settings + folder of the last build; a change forces a full build
_STATS_KEY = "feeds.file_stats"  # {file: [size, mtime_ns]} as the last build left each file
_RENDER_VERSION = "1"  # bump when the rendering changes, so the next --changed run rebuilds everything


@dataclass(frozen=True, kw_only=True)
class PublishReport:
    """What one publish did; paths are relative to the output folder."""

    built: tuple[str, ...] = ()  # feed stems rendered, e.g. "all", "country/ua"
    written: tuple[str, ...] = ()  # files whose bytes changed (or were new)
    unchanged: tuple[str, ...] = ()  # files rendered to the bytes already on disk
    removed: tuple[str, ...] = ()  # files of feeds whose tag is no longer in use
    pinged: tuple[str, ...] = ()  # feed URLs announced to the WebSub hub
    ping_errors: tuple[str, ...] = ()

    def __str__(self) -> str:  # what `feedpipe run` prints after "feeds: "
        return self.summary()

    def summary(self) -> str:
        text = (
            f"{len(self.built)} feeds built: {len(self.written)} files written, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )
        if self.pinged or self.ping_errors:
            text += f"; hub pinged for {len(self.pinged)} feeds, {len(self.ping_errors)} ping errors"
        return text


# --- which feeds ------------------------------------------------------------------------------


def all_specs(store: Store, settings: FeedSettings) -> list[FeedSpec]:
    """All, then every focus country, topic and section in use (sorted by code): the feeds to publish."""
    with store.catalogue.snapshot() as snapshot:
        return _catalog(snapshot, settings)[0]


def _catalog(
    snapshot: FeedSnapshot, settings: FeedSettings
) -> tuple[list[FeedSpec], dict[tuple[str, str], int]]:
    """The feeds, and how many articles each tag has (which decides how its newest entries are read)."""
    countries, country_counts = snapshot.tag_stats("country", "focus")
    topics, topic_counts = snapshot.tag_stats("topic", None)
    sections, section_counts = snapshot.tag_stats("section", None, labels=False)
    specs = [all_spec(settings)]
    specs += [
        country_spec(code, _country_name(code, name), settings) for code, name in sorted(countries.items())
    ]
    specs += topic_specs(topics, settings)
    specs += [section_spec(name, settings) for name in sorted(sections)]
    counts = {("country", c): n for c, n in country_counts.items()}
    counts |= {("topic", c): n for c, n in topic_counts.items()}
    counts |= {("section", c): n for c, n in section_counts.items()}
    counts[("all", "")] = snapshot.count_articles()
    return specs, counts


def _country_name(code: str, name: str) -> str:
    if name and name != code:
        return name
    country = pycountry.countries.get(alpha_2=code.upper())
    return (getattr(country, "common_name", None) or country.name) if country else code


# --- reading the newest entries ---------------------------------------------------------------


def newest_articles(
    snapshot: FeedSnapshot,
    spec: FeedSpec,
    limit: int,
    cache: dict[str, Article] | None = None,
    *,
    tagged: int | None = None,
    total: int | None = None,
) -> list[Article]:
    """The feed's newest `limit` articles, newest first (published, else first seen; see the store); an article is read once per `cache`
    (one build). Run every feed of a build in one catalogue snapshot so that they all see the same
    articles. `tagged`/`total`: see `CatalogueSnapshot.newest_ids`."""
    return snapshot.newest_articles(spec.kind, spec.code, limit, cache, tagged=tagged, total=total)


# --- building ---------------------------------------------------------------------------------


def publish_feeds(
    store: Store,
    out_dir: Path,
    settings: FeedSettings,
    *,
    only_dirty: bool,
    ping: Callable[[str], None] | None = None,
    mode: int = FILE_MODE,
    keys: Collection[FeedKey] | None = None,
) -> PublishReport:
    """Build the feeds into `out_dir` (every feed, or only those whose articles changed) and the OPML.

    With `only_dirty`, a feed is built when the store marked its key dirty or one of its files is
    missing. Without it, a feed is built when its key is dirty or one of its files is not as the last
    build left it (missing, or its size or mtime differ: edited by hand); so an `--all` run over a store
    where nothing changed renders nothing (its files count as unchanged). Everything is built when the
    settings (or the folder) differ from the last build's.
    Dirty keys of the feeds built are cleared afterwards. When `ping` is given and
    `settings.websub_hub` is set, `ping(feed_url)` is called for every feed file that changed; a
    failing ping is reported, never raised.

    With `keys` (a worker's claim, `feedpipe worker`), only those feeds are built, if dirty, and the
    OPML; the whole-folder upkeep (a changed configuration, feeds no longer in use, the record of the
    files) is left to a publish without `keys`.
    """
    out_dir = Path(out_dir)
    # Source keys are cleared too: there are no per-source feeds, so nothing waits on them.
    dirty = store.catalogue.dirty_keys()
    if keys is not None:
        wanted = set(keys)
        dirty = {k: v for k, v in dirty.items() if k in wanted}
    fingerprint = _fingerprint(settings, out_dir)
    full = keys is None and store.meta.get(_FINGERPRINT_KEY) != fingerprint
    stats = _file_stats(store.meta.get(_STATS_KEY))

    if not full and not any(kind in FEED_KINDS for kind, _ in dirty) and (
            keys is not None or _all_as_left(stats, out_dir)):
        # Nothing changed since the last build, which left every file as it is: not even the list of
        # feeds needs reading.
        store.catalogue.clear_dirty(dirty)
        return PublishReport(unchanged=(OPML_NAME,) if only_dirty else tuple(sorted(stats)))

    # Files are written in batches (`FileBatch`: one disk flush per batch, not per file); a batch is
    # committed (flushed, moved into place) by one thread while the next feeds render.
    written: list[str] = []
    unchanged: list[str] = []
    commits: list[Future[None]] = []
    batch = FileBatch()
    cache: dict[str, Article] = {}
    prepared: EntryCache = {}
    with store.catalogue.snapshot() as snapshot, ThreadPoolExecutor(max_workers=1) as flusher:
        try:
            specs, counts = _catalog(snapshot, settings)  # one snapshot for the list of feeds and all entries
            stale = _missing if only_dirty else functools.partial(_not_as_left, stats)
            todo = specs if full else [s for s in specs if s.key in dirty or (keys is None and stale(out_dir, s))]
            # --all reports the files it verified as unchanged; --changed reports only what it rendered
            current = set() if only_dirty else (
                expected_files(specs) - {s.path(fmt) for s in todo for fmt in FORMATS} - {OPML_NAME})
            total = counts[("all", "")]
            for spec in todo:
                articles = newest_articles(
                    snapshot, spec, settings.max_entries, cache, tagged=counts.get(spec.key), total=total
                )
                for fmt, data in render_all(spec, articles, settings, cache=prepared).items():
                    rel = spec.path(fmt)
                    (written if batch.write_if_changed(out_dir / rel, data, mode=mode) else unchanged).append(rel)
                if len(batch) >= BATCH_FILES:
                    commits.append(flusher.submit(batch.commit))
                    batch = FileBatch()
            opml = render_opml(specs, settings)
            (written if batch.write_if_changed(out_dir / OPML_NAME, opml, mode=mode) else unchanged).append(OPML_NAME)
            commits.append(flusher.submit(batch.commit))
        except BaseException:
            batch.discard()
            raise
    for done in commits:
        done.result()  # a failed flush or move is raised here, after the others were tried
    unchanged += sorted(current)
    removed = _remove_stale(out_dir, specs) if keys is None else []
    if keys is None and (full or written or removed or len(stats) != len(expected_files(specs))):
        now_left = {rel: _stat(out_dir / rel) for rel in expected_files(specs)}
        store.meta.set(_STATS_KEY, json.dumps({k: v for k, v in now_left.items() if v is not None}, sort_keys=True))

    store.catalogue.clear_dirty(dirty)  # built, or gone; a key changed since the snapshot stays dirty
    if full:
        store.meta.set(_FINGERPRINT_KEY, fingerprint)

    pinged, errors = [], []
    if ping is not None and settings.websub_hub:
        for rel in written:
            if rel == OPML_NAME:
                continue
            url = f"{settings.feeds_url}/{rel}"
            try:
                ping(url)
            except Exception as exc:  # a hub being down never undoes a publish
                errors.append(f"{url}: {exc}")
            else:
                pinged.append(url)
    return PublishReport(
        built=tuple(s.stem for s in todo),
        written=tuple(written),
        unchanged=tuple(unchanged),
        removed=tuple(removed),
        pinged=tuple(pinged),
        ping_errors=tuple(errors),
    )


def expected_files(specs: Iterable[FeedSpec]) -> set[str]:
    return {spec.path(fmt) for spec in specs for fmt in FORMATS} | {OPML_NAME}


def _missing(out_dir: Path, spec: FeedSpec) -> bool:
    return not all(os.path.exists(out_dir / spec.path(fmt)) for fmt in FORMATS)


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _file_stats(text: str | None) -> dict[str, list[int]]:
    try:
        loaded = json.loads(text or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _all_as_left(stats: dict[str, list[int]], out_dir: Path) -> bool:
    return OPML_NAME in stats and all(_stat(out_dir / rel) == left for rel, left in stats.items())


def _not_as_left(stats: dict[str, list[int]], out_dir: Path, spec: FeedSpec) -> bool:
    """A file of the feed is missing or not as the last build left it."""
    return any(stats.get(rel) is None or _stat(out_dir / rel) != stats[rel]
               for rel in (spec.path(fmt) for fmt in FORMATS))


def _remove_stale(out_dir: Path, specs: list[FeedSpec]) -> list[str]:
    """Delete feed files (.rss/.atom/.json under country/, topic/, section/) no current feed owns."""
    keep = expected_files(specs)
    removed = []
    for kind in FEED_KINDS[1:]:
        folder = out_dir / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            rel = f"{kind}/{path.name}"
            if path.is_file() and path.suffix[1:] in FORMATS and rel not in keep:
                path.unlink()
                removed.append(rel)
    return removed


def _fingerprint(settings: FeedSettings, out_dir: Path) -> str:
    text = f"{_RENDER_VERSION}|{settings!r}|{out_dir.resolve()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
