"""What the editors' desk shows: the week's candidates as the selection ranks them (picks on top), the
filters over them, a preview of the email for a subscriber profile, and the edition's state.

Everything comes from the digest services (`load_edition`, `select.rank_rest`, the ledger's counts):
the desk computes no ranking of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy

from feedpipe.core.model import Article, Edition, LedgerEntry, Subscriber
from feedpipe.core.settings import Settings
from feedpipe.core.text import one_line
from feedpipe.core.urls import safe_url
from feedpipe.digest.build import LoadedEdition, load_edition
from feedpipe.digest.select import rank_rest, section_of
from feedpipe.store import Store

SHOWN_MAX = 100
SUMMARY_MAX = 180


@dataclass(frozen=True, kw_only=True)
class Filters:
    """The search and filters of the candidate list (from the query string)."""

    q: str = ""
    country: str = ""
    topic: str = ""
    section: str = ""

    def keep(self, article: Article) -> bool:
        if self.q:
            needle = self.q.casefold()
            if needle not in article.title.casefold() and needle not in article.text.casefold() \
                    and needle not in article.summary.casefold():
                return False
        if self.country and not any(c.code == self.country for c in article.countries):
            return False
        if self.topic and not any(t.code == self.topic for t in article.topics):
            return False
        return not (self.section and section_of(article) != self.section)

    @property
    def active(self) -> bool:
        return bool(self.q or self.country or self.topic or self.section)


@dataclass(frozen=True, kw_only=True)
class Row:
    """One candidate as the desk lists it."""

    article: Article
    rank: int  # 1-based, in the selection's order
    picked: bool
    position: int | None  # among the picks, 0-based
    pitch: str
    in_edition: bool  # the general edition carries it

    @property
    def countries(self) -> list[str]:
        return [c.name for c in self.article.countries if c.role == "focus"] or \
            [c.name for c in self.article.countries[:3]]

    @property
    def topics(self) -> list[str]:
        return [t.label for t in self.article.topics[:3]]

    @property
    def section(self) -> str:
        return section_of(self.article)

    @property
    def link(self) -> str:
        return safe_url(self.article.url) or "#"

    @property
    def summary(self) -> str:
        text = one_line(self.article.summary or self.article.text)
        return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


@dataclass(frozen=True, kw_only=True)
class State:
    """The edition's state as the desk names it, with the ledger's counts."""

    name: str  # collecting | built | sending | sent | skipped
    edition: Edition
    counts: dict[str, int]
    trouble: list[LedgerEntry]  # uncertain and failed recipients
    recipients: int  # who a send now would reach


@dataclass(frozen=True, kw_only=True)
class DeskView:
    key: str
    loaded: LoadedEdition
    picks: list[Row]
    rows: list[Row]  # filtered, at most SHOWN_MAX
    matching: int  # how many candidates match the filters
    total: int
    countries: list[tuple[str, str]]  # (code, name) for the filter
    topics: list[tuple[str, str]]
    sections: list[str]
    state: State


def load(store: Store, settings: Settings, key: str, now: datetime) -> LoadedEdition:
    return load_edition(store, settings.digest, key, now, feeds_public_url=settings.feeds_public_url,
                        templates_dir=settings.templates_dir)


def desk_view(store: Store, settings: Settings, key: str, now: datetime, filters: Filters) -> DeskView:
    loaded = load(store, settings, key, now)
    general = loaded.general
    ranked = rank_rest(loaded.candidates, general, loaded.edition.window_end or now)
    in_edition = set(general.ids)
    pick_at = {article.id: (n, pitch or "") for n, (article, pitch) in enumerate(loaded.picks)}
    rows = [Row(article=a, rank=n, picked=a.id in pick_at, position=pick_at.get(a.id, (None, ""))[0],
                pitch=pick_at.get(a.id, (None, ""))[1], in_edition=a.id in in_edition)
            for n, a in enumerate(ranked, 1)]
    picked = [r for r in rows if r.picked]
    matching = [r for r in rows if filters.keep(r.article)]
    countries: dict[str, str] = {}
    topics: dict[str, str] = {}
    for a in loaded.candidates:
        countries.update((c.code, c.name) for c in a.countries)
        topics.update((t.code, t.label) for t in a.topics)
    return DeskView(
        key=key, loaded=loaded, picks=picked, rows=matching[:SHOWN_MAX], matching=len(matching),
        total=len(rows), countries=sorted(countries.items(), key=lambda kv: kv[1]),
        topics=sorted(topics.items(), key=lambda kv: kv[1]),
        sections=sorted({section_of(a) for a in loaded.candidates}), state=state(store, loaded.edition),
    )


def state(store: Store, edition: Edition) -> State:
    counts = store.ledger.counts(edition.key)
    trouble = store.ledger.entries(edition.key, "uncertain") + store.ledger.entries(edition.key, "failed")
    name = ("built" if edition.subject else "collecting") if edition.status == "building" else edition.status
    done = counts.get("sent", 0) + counts.get("failed", 0) + counts.get("uncertain", 0)
    recipients = 0 if edition.status in ("sent", "skipped") else max(0, store.subscribers.count("active") - done)
    return State(name=name, edition=edition, counts=counts, trouble=trouble, recipients=recipients)


def preview_html(loaded: LoadedEdition, countries: tuple[str, ...], topics: tuple[str, ...], now: datetime) -> str:
    """The HTML part of the email a subscriber with these preferences would get (as `digest preview`)."""
    reader = Subscriber(email="reader@example.org", status="active", token="preview", countries=countries,
                        topics=topics)
    data, _ = loaded.message_bytes(reader, now)
    msg = message_from_bytes(data, policy=policy.default)
    part = msg.get_body(("html",))
    content = part.get_content() if part is not None else ""
    return str(content)
