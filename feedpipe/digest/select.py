"""Which articles an edition carries: the editor's picks first, then a ranking that balances sections,
freshness and tag diversity within per-section limits. A personal edition filters the ranked part by the
subscriber's countries and topics and always keeps the picks."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from feedpipe.core.model import Article, CountryTag, TopicTag
from feedpipe.core.settings import SECTIONS, DigestSettings
from feedpipe.feeds import topic_slug

SECTION_WEIGHT = {"news": 1.0, "analysis": 0.95, "feature": 0.9, "opinion": 0.8}
HALF_LIFE_HOURS = 72.0
DIVERSITY = 0.35  # how much sharing a focus country or lead topic with chosen items costs
BALANCE = 0.12  # how much each chosen item of the same section costs
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def section_of(article: Article) -> str:
    return article.section if article.section in SECTIONS else "news"


@dataclass(frozen=True, kw_only=True)
class Item:
    article: Article
    pitch: str | None = None
    picked: bool = False

    @property
    def countries(self) -> tuple[CountryTag, ...]:
        """Labels: focus countries, or all when none is a focus."""
        focus = tuple(c for c in self.article.countries if c.role == "focus")
        return focus or self.article.countries[:2]

    @property
    def topics(self) -> tuple[TopicTag, ...]:
        return self.article.topics[:2]

    @property
    def section(self) -> str:
        return section_of(self.article)


@dataclass(frozen=True, kw_only=True)
class Selection:
    picks: tuple[Item, ...] = ()
    ranked: tuple[Item, ...] = ()

    @property
    def items(self) -> tuple[Item, ...]:
        return self.picks + self.ranked

    @property
    def lead(self) -> Item | None:
        return self.items[0] if self.items else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.article.id for i in self.items)

    def roundup(self, n: int) -> tuple[Item, ...]:
        return self.items[:n]

    def sections(self) -> list[tuple[str, tuple[Item, ...]]]:
        """The ranked items by section, in the house order (news, analysis, feature, opinion, ...)."""
        order = ("news", "analysis", "feature", "opinion")
        groups: dict[str, list[Item]] = {}
        for item in self.ranked:
            groups.setdefault(item.section, []).append(item)
        return [(name, tuple(groups[name])) for name in sorted(groups, key=lambda s: (order.index(s)
                                                                                        if s in order else 99, s))]

    def countries(self) -> list[tuple[str, str]]:
        """(code, name) of the focus countries across the edition, most frequent first."""
        counts: Counter[str] = Counter()
        names: dict[str, str] = {}
        for item in self.items:
            for c in item.countries:
                counts[c.code] += 1
                names[c.code] = c.name
        return [(code, names[code]) for code, _ in counts.most_common()]

    def topics(self) -> list[tuple[str, str]]:
        """(code, label) of the topics across the edition, most frequent first."""
        counts: Counter[str] = Counter()
        labels: dict[str, str] = {}
        for item in self.items:
            for t in item.topics:
                counts[t.code] += 1
                labels[t.code] = t.label
        return [(code, labels[code]) for code, _ in counts.most_common()]


def matches(article: Article, countries: Iterable[str], topics: Iterable[str]) -> bool:
    """Does the article fit a subscriber's preferences? No preferences matches everything; otherwise a
    focus country (any country when none is a focus) or a topic (by code or label slug) must match."""
    countries, topics = set(countries), set(topics)
    if not countries and not topics:
        return True
    tagged = [c for c in article.countries if c.role == "focus"] or list(article.countries)
    if any(c.code in countries for c in tagged):
        return True
    return any(t.code in topics or topic_slug(t.code, t.label) in topics for t in article.topics)


def eligible(article: Article, window: tuple[datetime, datetime] | None) -> bool:
    """May the automatic selection take this article? Only when it has a published date, inside the
    edition's window [start, end) when one is given: an undated article, or one a source's first ingest
    brought from earlier weeks, enters an edition only when an editor picks it."""
    published = article.published_at
    if published is None:
        return False
    return window is None or window[0] <= published < window[1]


def _base_score(article: Article, now: datetime) -> float:
    published = article.published_at or now
    age_hours = max(0.0, (now - published).total_seconds() / 3600)
    score = SECTION_WEIGHT.get(section_of(article), 0.7) * math.pow(0.5, age_hours / HALF_LIFE_HOURS)
    if article.summary:
        score += 0.1
    if article.image:
        score += 0.05
    if article.countries or article.topics:
        score += 0.05
    return score


def _keys(article: Article) -> tuple[set[str], str | None]:
    focus = {c.code for c in article.countries if c.role == "focus"}
    lead_topic = article.topics[0].code if article.topics else None
    return focus, lead_topic


def select(
    candidates: Sequence[Article],
    picks: Sequence[tuple[Article, str | None]],
    settings: DigestSettings,
    now: datetime,
    *,
    countries: Iterable[str] = (),
    topics: Iterable[str] = (),
    window: tuple[datetime, datetime] | None = None,
) -> Selection:
    """Picks first (in the editor's order, all of them), then greedy ranking of the rest.

    Only `eligible` candidates are ranked: dated, and published inside `window` (the edition's
    [start, end)) when it is given.

    Each step takes the candidate with the best score: freshness (half-life 72 h) times a section
    weight, minus a cost for sharing focus countries or the lead topic with items already chosen and for
    crowding a section; a section at its limit takes no more. `countries`/`topics` personalise.
    """
    countries, topics = tuple(countries), tuple(topics)
    picked_ids = {a.id for a, _ in picks}
    pick_items = tuple(Item(article=a, pitch=p, picked=True) for a, p in picks)
    pool = [a for a in candidates
            if a.id not in picked_ids and eligible(a, window) and matches(a, countries, topics)]
    room = max(0, settings.max_items - len(pick_items))
    limits = settings.section_limits
    per_section: Counter[str] = Counter(i.section for i in pick_items)
    seen_countries: Counter[str] = Counter()
    seen_topics: Counter[str] = Counter()
    for item in pick_items:
        focus, lead_topic = _keys(item.article)
        seen_countries.update(focus)
        if lead_topic:
            seen_topics[lead_topic] += 1
    scored = [(a, _base_score(a, now), *_keys(a)) for a in pool]
    chosen: list[Item] = []
    while scored and len(chosen) < room:
        best_i, best = -1, -math.inf
        for i, (article, base, focus, lead_topic) in enumerate(scored):
            section = section_of(article)
            if per_section[section] >= limits.get(section, limits.get("news", 6)):
                continue
            overlap = (sum(seen_countries[c] for c in focus) / max(1, len(focus))) + (
                seen_topics[lead_topic] if lead_topic else 0
            )
            value = base - DIVERSITY * overlap - BALANCE * per_section[section]
            if value > best or (value == best and article.id < scored[best_i][0].id):
                best_i, best = i, value
        if best_i < 0:
            break
        article, _, focus, lead_topic = scored.pop(best_i)
        chosen.append(Item(article=article))
        per_section[section_of(article)] += 1
        seen_countries.update(focus)
        if lead_topic:
            seen_topics[lead_topic] += 1
    return Selection(picks=pick_items, ranked=tuple(chosen))


def rank_rest(candidates: Sequence[Article], selection: Selection, now: datetime) -> tuple[Article, ...]:
    """Every candidate in the order an editor should see them: the selection's items as it ranked them
    (picks first), then the candidates it left out, best base score first (freshness and section)."""
    chosen = set(selection.ids)
    rest = sorted((a for a in candidates if a.id not in chosen), key=lambda a: (-_base_score(a, now), a.id))
    return tuple(i.article for i in selection.items) + tuple(rest)
