"""Which feeds exist (from the tags in use), and building them from the store into a folder.

`publish_feeds(store, out_dir, settings, only_dirty=...)` writes `all.*`, `country/<iso2>.*`,
`topic/<slug>.*`, `section/<name>.*` (each as .rss, .atom and .json) and `index.opml`; a file is
replaced only when its bytes change, feeds whose tag is no longer used are removed, and the
dirty-feed keys it built are cleared.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pycountry
from sqlalchemy import Connection, func, select

from feedpipe.feeds import (
    FORMATS,
    FeedSettings,
    FeedSpec,
    all_spec,
    country_spec,
    render_all,
    render_opml,
    section_spec,
    topic_specs,
)
from feedpipe.model import Article
from feedpipe.publish import write_if_changed
from feedpipe.store import schema
from feedpipe.store.articles import row_to_article

A = schema.articles
T = schema.article_tags

FEED_KINDS = ("all", "country", "topic", "section")
OPML_NAME = "index.opml"
_FINGERPRINT_KEY = "feeds.fingerprint"  # settings + folder of the last build; a change forces a full build
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

    def summary(self) -> str:
        text = (f"{len(self.built)} feeds built: {len(self.written)} files written, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed")
        if self.pinged or self.ping_errors:
            text += f"; hub pinged for {len(self.pinged)} feeds, {len(self.ping_errors)} ping errors"
        return text


# --- which feeds ------------------------------------------------------------------------------


def all_specs(store, settings: FeedSettings) -> list[FeedSpec]:
    """All, then every focus country, topic and section in use (sorted by code): the feeds to publish."""
    with store.read() as conn:
        countries = _tag_labels(conn, "country", "focus")
        topics = _tag_labels(conn, "topic", None)
        sections = list(conn.execute(select(T.c.code).where(T.c.kind == "section").distinct().order_by(T.c.code))
                        .scalars())
    specs = [all_spec(settings)]
    specs += [country_spec(code, _country_name(code, name), settings) for code, name in sorted(countries.items())]
    specs += topic_specs(topics, settings)
    specs += [section_spec(name, settings) for name in sections]
    return specs


def _tag_labels(conn: Connection, kind: str, role: str | None) -> dict[str, str]:
    """{code: name or label} for one tag kind, each label read from one (fixed) article carrying it."""
    query = select(T.c.code, func.min(T.c.article_id)).where(T.c.kind == kind).group_by(T.c.code)
    if role:
        query = query.where(T.c.role == role)
    first = {code: article_id for code, article_id in conn.execute(query)}
    column = A.c.countries if kind == "country" else A.c.topics
    field = "name" if kind == "country" else "label"
    tags_of: dict[str, list] = {}
    ids = sorted(set(first.values()))
    for start in range(0, len(ids), 500):
        for article_id, tags in conn.execute(select(A.c.id, column).where(A.c.id.in_(ids[start:start + 500]))):
            tags_of[article_id] = tags or []
    labels = {}
    for code, article_id in first.items():
        found = [t.get(field) for t in tags_of.get(article_id, []) if t.get("code") == code and t.get(field)]
        labels[code] = found[0] if found else code
    return labels


def _country_name(code: str, name: str) -> str:
    if name and name != code:
        return name
    country = pycountry.countries.get(alpha_2=code.upper())
    return (getattr(country, "common_name", None) or country.name) if country else code


# --- reading the newest entries ---------------------------------------------------------------


def newest_articles(conn: Connection, spec: FeedSpec, limit: int) -> list[Article]:
    """The feed's newest `limit` articles, newest published first (then id), as `Store.articles` orders.

    One indexed join per feed (article_tags (kind, code) → articles by primary key), in the caller's
    read transaction, so every feed of one build sees the same snapshot.
    """
    order = (A.c.published_at.desc(), A.c.id.desc())
    if spec.kind == "all":
        query = select(A).order_by(*order).limit(limit)
    else:
        cond = [T.c.kind == spec.kind, T.c.code == spec.code]
        if spec.kind == "country":
            cond.append(T.c.role == "focus")
        query = select(A).join(T, T.c.article_id == A.c.id).where(*cond).order_by(*order).limit(limit)
    return [row_to_article(row) for row in conn.execute(query)]


# --- building ---------------------------------------------------------------------------------


def publish_feeds(
    store,
    out_dir: Path,
    settings: FeedSettings,
    *,
    only_dirty: bool,
    ping: Callable[[str], None] | None = None,
) -> PublishReport:
    """Build the feeds into `out_dir` (every feed, or only those whose articles changed) and the OPML.

    With `only_dirty`, a feed is built when the store marked its key dirty or one of its files is
    missing; everything is built when the settings (or the folder) differ from the last build's.
    Dirty keys of the feeds built are cleared afterwards. When `ping` is given and
    `settings.websub_hub` is set, `ping(feed_url)` is called for every feed file that changed; a
    failing ping is reported, never raised.
    """
    out_dir = Path(out_dir)
    dirty = {key for key in store.dirty_feed_keys() if key[0] in FEED_KINDS}
    specs = all_specs(store, settings)
    fingerprint = _fingerprint(settings, out_dir)
    full = not only_dirty or store.get_meta(_FINGERPRINT_KEY) != fingerprint
    todo = specs if full else [s for s in specs if s.key in dirty or _missing(out_dir, s)]

    written: list[str] = []
    unchanged: list[str] = []
    with store.read() as conn:
        for spec in todo:
            for fmt, data in render_all(spec, newest_articles(conn, spec, settings.max_entries), settings).items():
                rel = spec.path(fmt)
                (written if write_if_changed(out_dir / rel, data) else unchanged).append(rel)
    opml_changed = write_if_changed(out_dir / OPML_NAME, render_opml(specs, settings))
    (written if opml_changed else unchanged).append(OPML_NAME)
    removed = _remove_stale(out_dir, specs)

    store.clear_dirty_feeds(dirty)  # built, or gone (their files removed above)
    if full:
        store.set_meta(_FINGERPRINT_KEY, fingerprint)

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
    return PublishReport(built=tuple(s.stem for s in todo), written=tuple(written), unchanged=tuple(unchanged),
                         removed=tuple(removed), pinged=tuple(pinged), ping_errors=tuple(errors))


def expected_files(specs: Iterable[FeedSpec]) -> set[str]:
    return {spec.path(fmt) for spec in specs for fmt in FORMATS} | {OPML_NAME}


def _missing(out_dir: Path, spec: FeedSpec) -> bool:
    return not all(os.path.exists(out_dir / spec.path(fmt)) for fmt in FORMATS)


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

