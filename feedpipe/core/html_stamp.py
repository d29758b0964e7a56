"""The stamp the store records beside an article's HTML, so that a feed can publish that HTML without a
second nh3 pass (see `feeds.entries`): made when the article is stored, checked when it is published.

It lives in the core, not with the feeds that read it, so that the store makes it without loading the
feed renderers (feedgen, dateutil): ingest writes stamps, it never renders a feed.
"""

from __future__ import annotations

import hashlib

from feedpipe.core.html import POLICY_VERSION, sanitize_html
from feedpipe.core.model import Article
from feedpipe.core.urls import safe_url


def public_link(article: Article) -> str:
    """The article's public address (canonical URL, else URL) if it passes the safe-URL rule, else ""."""
    for url in (article.canonical_url, article.url):
        if found := safe_url(url):
            return found
    return ""


def html_stamp(article: Article) -> str | None:
    """What the store records beside an article's HTML: a stamp when the publish pass (`sanitize_html`
    with the entry's link as base) would leave the HTML exactly as it is, else None (sanitise it when
    publishing). Run once per article stored, so that building feeds need not run nh3 again."""
    link = public_link(article)
    if sanitize_html(article.content_html, link or None) != article.content_html:
        return None  # not clean by this policy, not a fixed point of it (nh3 output rarely is not), or relative links
    return html_digest(article.content_html, link)


def html_digest(html: str, link: str) -> str:
    """The policy version and a digest of (link, HTML): a stamp holds only for the bytes it was made from."""
    digest = hashlib.blake2b(link.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(b"\0")
    digest.update(html.encode("utf-8", "surrogatepass"))
    return f"{POLICY_VERSION}:{digest.hexdigest()}"
