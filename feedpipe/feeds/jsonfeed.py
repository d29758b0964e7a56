"""JSON Feed 1.1 from prepared entries: compact, with the feed's fields first and `items` last."""

from __future__ import annotations

import json
from collections.abc import Sequence

from feedpipe.core.model import Article
from feedpipe.core.settings import FeedSettings
from feedpipe.core.text import xml_safe
from feedpipe.core.urls import safe_url
from feedpipe.feeds.entries import Entry, prepare_entries, rendered, rfc3339
from feedpipe.feeds.specs import FeedSpec, feed_url

JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"

# Compact: json's C encoder only runs without indent, and readers do not need the whitespace.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_item(e: Entry) -> str:
    item: dict[str, object] = {"id": e.id}
    if e.link:  # safe by the one rule, or absent: an article without a public URL has no "url"
        item["url"] = e.link
    item["title"] = e.title
    if e.content:
        item["content_html"] = e.content
    else:
        item["content_text"] = e.summary or e.title
    if e.summary:
        item["summary"] = e.summary
    if e.image:
        item["image"] = e.image
    item["date_published"] = rfc3339(e.published)
    item["date_modified"] = rfc3339(e.updated)
    if e.authors:
        item["authors"] = [{"name": a} for a in e.authors]
    if e.categories:
        item["tags"] = list(dict.fromkeys(label for _, _, label in e.categories))
        item["_feedpipe"] = {
            "categories": [{"scheme": s, "term": t, "label": lb} for s, t, lb in e.categories]
        }
    if e.language:
        item["language"] = e.language
    return _dumps(item)


def json_bytes(entries: list[Entry], spec: FeedSpec, settings: FeedSettings) -> bytes:
    """The JSON Feed document of these entries; each entry's item is encoded once and kept on it."""
    feed: dict[str, object] = {"version": JSONFEED_VERSION, "title": xml_safe(spec.title)}
    if home := safe_url(settings.public_url):
        feed["home_page_url"] = home
    if own := safe_url(feed_url(spec, "json", settings)):
        feed["feed_url"] = own
    feed |= {
        "description": xml_safe(spec.subtitle),
        "language": settings.language,
        "authors": [{"name": xml_safe(settings.author or settings.title)}],
    }
    if hub := safe_url(settings.websub_hub):
        feed["hubs"] = [{"type": "WebSub", "url": hub}]
    items = rendered(entries, "json", _json_item)
    head = _dumps(feed)[:-1]  # the feed object without its closing brace; "items" goes last
    return f'{head},"items":[{",".join(items)}]}}\n'.encode()


def render_json(spec: FeedSpec, articles: Sequence[Article], settings: FeedSettings) -> bytes:
    return json_bytes(prepare_entries(articles, settings), spec, settings)
