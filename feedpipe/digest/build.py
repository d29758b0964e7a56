"""Put an edition together: its window and candidates, the editor's picks, a (cached) selection per set
of preferences, rendering, and the messages, one at a time."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from feedpipe.core.errors import FeedpipeError
from feedpipe.core.model import Article, Edition, Subscriber
from feedpipe.core.settings import DigestSettings
from feedpipe.digest.editions import edition_window, parse_key
from feedpipe.digest.message import build_message, envelope_sender, message_bytes
from feedpipe.digest.ports import EditionStore
from feedpipe.digest.render import Links, RenderCache, Rendered, render
from feedpipe.digest.select import Selection, select
from feedpipe.files import FILE_MODE, write_file

_Preferences = tuple[tuple[str, ...], tuple[str, ...]]


def make_links(settings: DigestSettings, feeds_public_url: str | None, public_url: str | None = None) -> Links:
    feeds = (feeds_public_url or "").rstrip("/")
    site_from_feeds = feeds[: -len("/feeds")] if feeds.endswith("/feeds") else feeds
    site = (public_url or settings.public_url or site_from_feeds or "").rstrip("/")
    if not site.startswith(("http://", "https://")):
        raise FeedpipeError(
            "the digest needs the site's public URL for its links (web view, unsubscribe)",
            'set [digest] public_url = "https://news.example.org" (or the feeds\' public URL)',
        )
    feeds = feeds or f"{site}/feeds"
    return Links(public_url=site, feeds_url=feeds if feeds.endswith("/feeds") else f"{feeds}/feeds")


@dataclass(kw_only=True)
class LoadedEdition:
    """One edition's material, loaded once from the store: its window, candidates and picks, with a
    cached selection per set of preferences and a cached rendering per selection.

    `as_of` is the caller's "now" when it was loaded; selection ranks freshness against the window's
    end, or against `as_of` when the edition has no window end yet."""

    key: str
    edition: Edition
    settings: DigestSettings
    links: Links
    candidates: list[Article]
    picks: list[tuple[Article, str | None]]
    as_of: datetime
    templates_dir: Path | None = None
    _selections: OrderedDict[_Preferences, Selection] = field(default_factory=OrderedDict)
    _renders: dict[bool, RenderCache] = field(default_factory=dict)

    def selection(self, countries: Iterable[str] = (), topics: Iterable[str] = ()) -> Selection:
        key = (tuple(sorted(countries)), tuple(sorted(topics)))
        found = self._selections.get(key)
        if found is None:
            end = self.edition.window_end or max(
                (a.published_at for a in self.candidates if a.published_at), default=None
            )
            start = self.edition.window_start
            window = (start, self.edition.window_end) if start and self.edition.window_end else None
            found = select(self.candidates, self.picks, self.settings, end or self.as_of,
                           countries=key[0], topics=key[1], window=window)
            self._selections[key] = found
            if len(self._selections) > 1024:
                self._selections.popitem(last=False)
        else:
            self._selections.move_to_end(key)
        return found

    def rendered(self, selection: Selection, *, web: bool = False) -> Rendered:
        cache = self._renders.get(web)
        if cache is None:
            cache = self._renders[web] = RenderCache(
                lambda s: render(s, self.settings, edition_key=self.key, links=self.links, web=web,
                                 templates_dir=self.templates_dir)
            )
        return cache(selection)

    def message_bytes(self, subscriber: Subscriber, now: datetime, *, id_edition: str | None = None
                      ) -> tuple[bytes, str]:
        """(wire bytes, Message-ID) of this subscriber's personal edition."""
        rendered = self.rendered(self.selection(subscriber.countries, subscriber.topics))
        return message_bytes(rendered, subscriber, self.settings, edition=self.key, links=self.links, now=now,
                             id_edition=id_edition)

    def message(self, subscriber: Subscriber, now: datetime, *, id_edition: str | None = None) -> EmailMessage:
        rendered = self.rendered(self.selection(subscriber.countries, subscriber.topics))
        return build_message(rendered, subscriber, self.settings, edition=self.key, links=self.links, now=now,
                             id_edition=id_edition)

    @property
    def general(self) -> Selection:
        return self.selection()


def load_edition(
    store: EditionStore,
    settings: DigestSettings,
    edition_key: str,
    now: datetime,
    *,
    feeds_public_url: str | None = None,
    public_url: str | None = None,
    templates_dir: Path | None = None,
) -> LoadedEdition:
    """Load what an edition needs. A building edition's window is (re)computed; a sending or sent one
    keeps the window it was sent with, so a resumed send shows the same articles."""
    parse_key(edition_key)
    links = make_links(settings, feeds_public_url, public_url)
    edition = store.editions.get(edition_key)
    if edition is None or edition.status == "building" or edition.window_end is None:
        start, end = edition_window(edition_key, settings, store)
        if edition is None or edition.status == "building":
            edition = store.editions.ensure(edition_key, window_start=start, window_end=end, now=now)
        else:
            edition = replace(edition, window_start=start, window_end=end)
    candidates = store.articles.query(since=edition.window_start, until=edition.window_end)
    picks: list[tuple[Article, str | None]] = []
    for p in store.editions.picks(edition_key):
        article = store.articles.get(p.article_id)
        if article is not None:
            picks.append((article, p.pitch))
    return LoadedEdition(key=edition_key, edition=edition, settings=settings, links=links, candidates=candidates,
                         picks=picks, as_of=now, templates_dir=templates_dir or settings.templates_dir)


def build_edition(
    store: EditionStore,
    settings: DigestSettings,
    feeds_public_url: str,
    edition_key: str,
    now: datetime,
    out_dir: Path,
    *,
    public_url: str | None = None,
    templates_dir: Path | None = None,
    mode: int = FILE_MODE,
) -> Path:
    """Write the edition's web view to `<out_dir>/<key>.html` (out_dir is the public digest folder,
    `public/digest`) and record its subject; returns the path. Personal emails are built at send time.
    `feeds_public_url` is where the feeds live ("https://news.example.org/feeds", or the site's URL).
    `mode`: the web view's permission bits (0644: a web server running as another user can read it)."""
    loaded = load_edition(store, settings, edition_key, now, feeds_public_url=feeds_public_url,
                          public_url=public_url, templates_dir=templates_dir)
    rendered = loaded.rendered(loaded.general, web=True)
    html, _ = rendered.for_subscriber(None, settings)
    path = Path(out_dir) / f"{edition_key}.html"
    write_file(path, html.encode("utf-8"), mode=mode)
    if loaded.edition.status == "building":
        store.editions.set_subject(edition_key, rendered.subject)
    return path


def iter_messages(
    loaded: LoadedEdition, subscribers: Iterable[Subscriber], now: datetime
) -> Iterator[tuple[Subscriber, EmailMessage]]:
    """One message per subscriber, built as it is asked for (never the whole list at once)."""
    for subscriber in subscribers:
        yield subscriber, loaded.message(subscriber, now)


class SendRun:
    """What every kind of send shares: the edition loaded once, the envelope sender, and the run's
    clock. Time inside a long run is the caller's `now` plus the elapsed `monotonic()` seconds (a
    stopwatch, never a calendar read)."""

    def __init__(self, loaded: LoadedEdition, now: datetime, monotonic: Callable[[], float], started: float) -> None:
        self.loaded = loaded
        self.key = loaded.key
        self.settings = loaded.settings
        self.sender = envelope_sender(loaded.settings)
        self.monotonic = monotonic
        self._start_now, self._start_tick = now, started

    def now(self) -> datetime:
        return self._start_now + timedelta(seconds=self.monotonic() - self._start_tick)

    @property
    def empty(self) -> bool:
        return not self.loaded.general.items

    def message(self, subscriber: Subscriber, *, id_edition: str | None = None) -> tuple[bytes, str]:
        """(wire bytes, Message-ID) of this subscriber's personal edition."""
        return self.loaded.message_bytes(subscriber, self.now(), id_edition=id_edition)


def start_run(
    store: EditionStore,
    settings: DigestSettings,
    edition_key: str,
    now: datetime,
    monotonic: Callable[[], float],
    feeds_public_url: str | None,
    public_url: str | None,
    templates_dir: Path | None,
) -> SendRun:
    started = monotonic()
    loaded = load_edition(store, settings, edition_key, now, feeds_public_url=feeds_public_url,
                          public_url=public_url, templates_dir=templates_dir)
    return SendRun(loaded, now, monotonic, started)
