"""One place that turns extracted fields into an `Article` with id, canonical URL and content hash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from urllib.parse import urljoin

from feedpipe.core.model import Article
from feedpipe.core.text import one_line, xml_safe

from .dates import to_utc
from .urls import article_id, canonical_url, content_hash

__all__ = ["absolute", "make_article"]


def absolute(url: str | None, base: str | None) -> str:
    """`url` resolved against `base`; junk becomes ''."""
    url = one_line(url)
    if not url:
        return ""
    if base:
        try:
            return _join(base, url)
        except ValueError:
            return ""
    return url


@lru_cache(maxsize=8192)
def _join(base: str, url: str) -> str:
    """Pure; a feed resolves each entry's link more than once (shared-link check, then the entry itself)."""
    return urljoin(base, url)


def _clean_tuple(values: Iterable[str | None]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = one_line(v)
        if v and v not in out:
            out.append(v)
    return tuple(out)


def make_article(
    *,
    source: str,
    url: str,
    title: str,
    guid: str | None = None,
    summary: str = "",
    content_html: str = "",
    text: str = "",
    published_at: datetime | None = None,
    updated_at: datetime | None = None,
    authors: Iterable[str | None] = (),
    image: str | None = None,
    image_alt: str | None = None,
    categories: Iterable[str | None] = (),
    language: str | None = None,
    section: str | None = None,
    extra: Mapping[str, object] | None = None,
    id_from_guid: bool = False,
) -> Article:
    """Build an Article; id from the canonical URL, else from source + guid, else source + title.

    `id_from_guid` is for feeds whose items all link to one page (podcasts linking the home page):
    there the guid, not the URL, tells the items apart.
    """
    title = one_line(title)
    guid = one_line(guid) or None
    canon = canonical_url(url) if url else ""
    if canon and not (id_from_guid and guid):
        aid = article_id(canonical_url=canon)
    else:
        aid = article_id(source=source, guid=guid or f"title:{title}")
    text = xml_safe(text).strip()
    return Article(
        id=aid,
        url=url,
        canonical_url=canon,
        title=title,
        source=source,
        guid=guid,
        summary=xml_safe(summary).strip(),
        content_html=content_html,
        text=text,
        published_at=to_utc(published_at),
        updated_at=to_utc(updated_at),
        authors=_clean_tuple(authors),
        image=one_line(image) or None,
        image_alt=one_line(image_alt) or None,
        categories=_clean_tuple(categories),
        language=one_line(language) or None,
        section=section,
        content_hash=content_hash(title, text),
        extra=dict(extra or {}),
    )
