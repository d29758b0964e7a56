"""Which feed is which: a feed's spec (kind, code, slug, title, path) and its stable id and URLs.

The all / country / topic / section specs, the slugs their paths are made of, and the `tag:` id and
public URL of each feed file. Pure: settings in, values out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from feedpipe.core.settings import FeedSettings

FORMATS = ("rss", "atom", "json")
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
    "opml": "text/x-opml",
}


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    """One feed: which articles (kind + code) and where it lives (path stem, without extension)."""

    kind: str  # all | country | topic | section
    code: str  # "" for all, "UA", "medtop:11000000", "sub:sanctions", "news"
    slug: str  # "ua", "politics", "sub-sanctions", "news"; "all" for all
    title: str
    subtitle: str
    stem: str  # "all", "country/ua", "topic/politics", "section/news"

    @property
    def key(self) -> tuple[str, str]:
        """The store's dirty-feed key for this feed."""
        return (self.kind, self.code)

    def path(self, fmt: str) -> str:
        return f"{self.stem}.{fmt}"


@lru_cache(maxsize=4096)
def slugify(text: str) -> str:
    """ "conflict, war and peace" → "conflict-war-and-peace"; ASCII, lower case, hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@lru_cache(maxsize=4096)
def topic_slug(code: str, label: str) -> str:
    """IPTC topics by label ("politics"); outlet subtopics "sub:sanctions" → "sub-sanctions"."""
    if code.startswith("sub:"):
        return "sub-" + (slugify(code[4:]) or slugify(label) or "topic")
    return slugify(label) or slugify(code.split(":", 1)[-1]) or "topic"


def all_spec(settings: FeedSettings) -> FeedSpec:
    return FeedSpec(
        kind="all",
        code="",
        slug="all",
        title=settings.title,
        subtitle=settings.subtitle or f"All articles from {settings.title}",
        stem="all",
    )


def country_spec(code: str, name: str, settings: FeedSettings) -> FeedSpec:
    slug = code.lower()
    return FeedSpec(
        kind="country",
        code=code.upper(),
        slug=slug,
        title=f"{settings.title}: {name}",
        subtitle=f"Articles about {name} from {settings.title}",
        stem=f"country/{slug}",
    )


def topic_spec(code: str, label: str, settings: FeedSettings, slug: str | None = None) -> FeedSpec:
    slug = slug or topic_slug(code, label)
    return FeedSpec(
        kind="topic",
        code=code,
        slug=slug,
        title=f"{settings.title}: {label}",
        subtitle=f"Articles on {label} from {settings.title}",
        stem=f"topic/{slug}",
    )


def section_spec(name: str, settings: FeedSettings) -> FeedSpec:
    slug = slugify(name) or "section"
    label = name.replace("-", " ").replace("_", " ").capitalize()
    return FeedSpec(
        kind="section",
        code=name,
        slug=slug,
        title=f"{settings.title}: {label}",
        subtitle=f"{label} from {settings.title}",
        stem=f"section/{slug}",
    )


def topic_specs(labels: dict[str, str], settings: FeedSettings) -> list[FeedSpec]:
    """One spec per topic code, slugs made unique (a clash gets the code appended), in code order."""
    specs: list[FeedSpec] = []
    taken: set[str] = set()
    for code in sorted(labels):
        slug = topic_slug(code, labels[code])
        if slug in taken:
            slug = f"{slug}-{slugify(code.split(':', 1)[-1])}"
        taken.add(slug)
        specs.append(topic_spec(code, labels[code], settings, slug))
    return specs


def feed_id(spec: FeedSpec, settings: FeedSettings) -> str:
    """The feed's stable tag: URI (Atom `id`)."""
    return f"tag:{settings.tag_authority}:feed:{spec.stem}"


def feed_url(spec: FeedSpec, fmt: str, settings: FeedSettings) -> str:
    """Where the feed file in format `fmt` is served."""
    return f"{settings.feeds_url}/{spec.path(fmt)}"
